"""The web site: FastAPI app factory (app.py), routes, Jinja2 templates and static files."""
