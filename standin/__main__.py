"""``python -m standin``: run the stand-in of Google's video APIs in the foreground until Ctrl-C (for demos)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
from pathlib import Path

from standin.behaviour import RENDER_RESOLUTIONS, Behaviour
from standin.models import DEFAULT_GEMINI_MODELS, DEFAULT_VERTEX_MODELS, LEGACY_GEMINI_VEO
from standin.server import VeoStandIn


def _ids(text: str) -> list[str]:
    return [i.strip() for i in text.split(",") if i.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m standin", description="Local stand-in for Google's video APIs (not Google)."
    )
    parser.add_argument("--port", type=int, default=8765, help="port to listen on; 0 picks a free one (default 8765)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--api-key", default="test-key", help="the x-goog-api-key to accept (default test-key)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds from submit until done (default 0)")
    parser.add_argument("--polls-before-done", type=int, default=0, help="polls answered pending first (default 0)")
    parser.add_argument(
        "--render-resolution",
        choices=(*RENDER_RESOLUTIONS, "requested"),
        default="240p",
        help="size of the rendered videos (default 240p)",
    )
    parser.add_argument("--redirect-downloads", action="store_true", help="answer downloads with a 302 to /blob/{id}")
    parser.add_argument("--gcs-root", type=Path, help="folder that stands for gs:// (Vertex storageUri outputs)")
    parser.add_argument(
        "--gemini-models",
        type=_ids,
        default=list(DEFAULT_GEMINI_MODELS),
        help=f"comma-separated Veo/Omni ids the Gemini API serves (default {','.join(DEFAULT_GEMINI_MODELS)})",
    )
    parser.add_argument(
        "--legacy-veo",
        action="store_true",
        help="also serve the pre-December-2026 Veo ids to API keys (standin.LEGACY_GEMINI_VEO)",
    )
    parser.add_argument(
        "--vertex-models",
        type=_ids,
        default=list(DEFAULT_VERTEX_MODELS),
        help=f"comma-separated ids Vertex serves (default {','.join(DEFAULT_VERTEX_MODELS)})",
    )
    parser.add_argument(
        "--file-processing-polls", type=int, default=1, help="files.get reads that say PROCESSING (default 1)"
    )
    parser.add_argument("--drop-deliveries", action="store_true", help="lose every webhook delivery")
    parser.add_argument("--verbose", "-v", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(message)s")
    behaviour = Behaviour(
        latency_seconds=args.latency,
        polls_before_done=args.polls_before_done,
        render_resolution=args.render_resolution,
        redirect_downloads=args.redirect_downloads,
        gemini_models=[*args.gemini_models, *(LEGACY_GEMINI_VEO if args.legacy_veo else ())],
        vertex_models=args.vertex_models,
        file_processing_polls=args.file_processing_polls,
        drop_deliveries=args.drop_deliveries,
    )
    try:
        standin = VeoStandIn(args.api_key, args.host, args.port, gcs_root=args.gcs_root, behaviour=behaviour)
    except ValueError as exc:
        parser.error(str(exc))
    standin.start()
    print(f"Google video API stand-in (local, not Google) listening on {standin.url}", flush=True)
    print(f"  point google-genai at it: GOOGLE_GEMINI_BASE_URL={standin.url} GEMINI_API_KEY={args.api_key}")
    print(f"  Gemini API serves {', '.join(standin.behaviour.gemini_models)}; Vertex {', '.join(args.vertex_models)}")
    print(f'  knobs: curl -X POST {standin.url}/_standin/config -d \'{{"outcome": "filtered"}}\'', flush=True)
    signal.signal(signal.SIGTERM, _interrupt)  # so `kill` also stops cleanly and removes the render cache
    with contextlib.suppress(KeyboardInterrupt):
        standin.serve_forever()
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
