"""The baseline: the least an aiohttp enqueue can do (parse the form, store it in a dict, answer an ID)."""

import itertools
import sys

from aiohttp import web

_store: dict[int, dict[str, object]] = {}
_ids = itertools.count(1)


async def enqueue(request: web.Request) -> web.Response:
    form = await request.post()
    job_id = next(_ids)
    _store[job_id] = {
        "applicationname": form.get("applicationname"),
        "user": form.get("user"),
        "parameters": dict(zip(form.getall("parameterNames", []), form.getall("parameterValues", []), strict=False)),
    }
    return web.Response(text=str(job_id))


async def health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def main() -> None:
    app = web.Application()
    app.add_routes([web.post("/ws/simple/ji", enqueue), web.get("/health", health)])
    web.run_app(app, host=sys.argv[1], port=int(sys.argv[2]), access_log=None, print=None)


if __name__ == "__main__":
    main()
