"""Images sent with a request: ``multipart/form-data`` with a JSON ``request`` part and image files by role.

``UploadRoute`` is a FastAPI route class (its documented way to change how a
request is read): a multipart request is read first — Starlette spools each
file to disk past 1 MiB; at most ``MAX_UPLOAD_IMAGES`` files and a JSON part of
at most ``MAX_BODY_BYTES`` — then the route sees an ordinary JSON request whose
body is the ``request`` part, validated like any JSON body, and
``uploaded_images(request)`` gives the files as the ``UploadedImage`` s the
Create page builds. Nothing here judges an image: ``core.images.check_image``
does, when the generation is submitted, with the page's messages. The body's
size is limited before this runs (``api.problems.body_limit``). Imports ``core``
and FastAPI/Starlette only.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute
from starlette.datastructures import FormData, UploadFile
from starlette.types import Message, Receive

from api.problems import MAX_BODY_BYTES, MAX_UPLOAD_IMAGES, invalid, too_large
from core.services.generations import UploadedImage

REQUEST_PART = "request"
"""The multipart part holding the request's settings as JSON."""

IMAGE_ROLES = ("first_frame", "last_frame", "reference")
"""The parts that hold images, named by the role each image plays (``reference`` may repeat)."""

_IMAGES = "veogen_uploaded_images"
"""Where the read images wait in the request's state."""

BINARY: dict[str, Any] = {"type": "string", "format": "binary"}
"""An uploaded file, in OpenAPI."""


def multipart_body(schema: str, files: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The multipart alternative of a route's JSON body, for its OpenAPI ``openapi_extra``: the request (a
    ``schema``) as JSON in the ``request`` part, and the ``files`` parts by name."""
    return {
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": [REQUEST_PART],
                        "properties": {REQUEST_PART: {"$ref": f"#/components/schemas/{schema}"}, **files},
                    },
                    "encoding": {REQUEST_PART: {"contentType": "application/json"}},
                }
            }
        }
    }


MULTIPART_BODY = multipart_body(
    "GenerationIn",
    {
        "first_frame": BINARY | {"description": "Modes image, frames."},
        "last_frame": BINARY | {"description": "Mode frames."},
        "reference": {"type": "array", "items": BINARY, "description": "Mode reference: one part per image."},
    },
)
"""A generation's (or a quote's) multipart body: its images by the role each plays."""


async def _read(form: FormData) -> tuple[bytes, tuple[UploadedImage, ...]]:
    """The JSON part and the images of a multipart form, in the order they were sent."""
    settings: list[bytes] = []
    images: list[UploadedImage] = []
    for name, value in form.multi_items():
        if name == REQUEST_PART:
            text = value.encode() if isinstance(value, str) else await value.read(MAX_BODY_BYTES + 1)
            if len(text) > MAX_BODY_BYTES:
                raise HTTPException(413, too_large(MAX_BODY_BYTES))
            settings.append(text)
        elif name not in IMAGE_ROLES:
            raise invalid(
                f"Unknown part {name[:40]!r}: send the settings in '{REQUEST_PART}' and images in parts named "
                f"{', '.join(IMAGE_ROLES)}.",
                name[:40],
            )
        elif not isinstance(value, UploadFile):
            raise invalid(f"The '{name}' part must be an image file.", name)
        else:
            images.append(UploadedImage(role=name, name=value.filename or name, data=await value.read()))
    if len(settings) != 1:
        raise invalid(
            f"Send the request's settings as JSON in one part named '{REQUEST_PART}', beside its images.",
            REQUEST_PART,
        )
    return settings[0], tuple(images)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A receive channel that gives ``body`` once, then whatever the connection says (a disconnect)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class UploadRoute(APIRoute):
    """A route whose JSON body may also come as multipart/form-data with images (see the module)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if kind != "multipart/form-data":
                return await handler(request)
            async with request.form(
                max_files=MAX_UPLOAD_IMAGES + 1, max_fields=1, max_part_size=MAX_BODY_BYTES
            ) as form:
                body, images = await _read(form)
            headers = [(k, v) for k, v in request.scope["headers"] if k not in (b"content-type", b"content-length")]
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            state = {**request.scope.get("state", {}), _IMAGES: images}
            scope = {**request.scope, "headers": headers, "state": state}
            return await handler(Request(scope, _replaying(body, request.receive)))

        return route


def uploaded_images(request: Request) -> tuple[UploadedImage, ...]:
    """The images a multipart request carried (none for a JSON request)."""
    images: tuple[UploadedImage, ...] = getattr(request.state, _IMAGES, ())
    return images
