"""RQ job functions and the worker/scheduler processes. May import core; core never imports this."""
