"""The studio (`episodes studio`): hear, fix, re-hear and approve episodes in the browser.

A local web app over the application layer (pipeline.commands), the same commands the CLI calls:
server-rendered pages, each with a JSON twin (`.json`), small scripts served by the app itself,
server-sent events for a build's progress. Run by uvicorn on 127.0.0.1 unless told otherwise; a
random token guards every request, the Host and Origin headers are checked (guard.py).

    app.py      routes: pages, their JSON twins, audio, the API
    guard.py    token, Host (DNS rebinding) and Origin checks, security headers
    builds.py   one build at a time in a thread, its events for the page
    server.py   the socket, the address printed, uvicorn
"""
