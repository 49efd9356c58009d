"""The whole URL map on one screen."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from forum.web.templating import TEMPLATE_DIR
from forum.web.views import accounts, admin, home

STATIC_DIR = TEMPLATE_DIR.parent / "static"


def routes() -> list[BaseRoute]:
    return [
        Route("/", home.home),
        Route("/healthz", home.health),
        # accounts
        Route("/login", accounts.login_page, methods=["GET"]),
        Route("/login", accounts.login, methods=["POST"]),
        Route("/signup", accounts.signup_page, methods=["GET"]),
        Route("/signup", accounts.signup, methods=["POST"]),
        Route("/logout", accounts.logout, methods=["POST"]),
        Route("/logout-all", accounts.logout_all, methods=["POST"]),
        Route("/account", accounts.account_page, methods=["GET"]),
        Route("/account/profile", accounts.update_profile, methods=["POST"]),
        Route("/account/password", accounts.change_password, methods=["POST"]),
        # admin
        Route("/admin/members", admin.members, methods=["GET"]),
        Route("/admin/members/{handle}/{verb}", admin.member_action, methods=["POST"]),
        Route("/admin/invites", admin.create_invite, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
