"""The read-only web view (``treatyflow serve``): Starlette pages and JSON over a Workspace.

``app.create_app(workspace)`` builds the ASGI application; ``server.run`` serves it with
uvicorn. The pages call the :class:`treatyflow.Workspace` API only, never the store.
"""
