"""The whole URL map on one screen."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from forum.web import api, ws
from forum.web.templating import TEMPLATE_DIR
from forum.web.views import accounts, admin, caucuses, feeds, home, inbox, moderation, threads

STATIC_DIR = TEMPLATE_DIR.parent / "static"


def routes() -> list[BaseRoute]:
    return [
        Route("/", threads.home),
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
        Route("/account/tokens", accounts.tokens_page, methods=["GET"]),
        Route("/account/tokens", accounts.create_token, methods=["POST"]),
        Route("/account/tokens/{token_id}/revoke", accounts.revoke_token, methods=["POST"]),
        # channels, threads, posts
        Route("/channels", threads.channel_list, methods=["GET"]),
        Route("/c/{slug}", threads.channel_page, methods=["GET"]),
        Route("/c/{slug}/new", threads.new_thread_page, methods=["GET"]),
        Route("/c/{slug}/feed.atom", feeds.channel_feed, methods=["GET"]),
        Route("/c/{slug}/threads", threads.create_thread, methods=["POST"]),
        Route("/t/{thread_id}", threads.thread_page, methods=["GET"]),
        Route("/t/{thread_id}/p/{post_id}", threads.branch_page, methods=["GET"]),
        Route("/t/{thread_id}/reply", threads.reply_page, methods=["GET"]),
        Route("/t/{thread_id}/posts", threads.create_reply, methods=["POST"]),
        Route("/p/{post_id}", threads.permalink, methods=["GET"]),
        Route("/p/{post_id}/edit", threads.edit_page, methods=["GET"]),
        Route("/p/{post_id}/edit", threads.update_post, methods=["POST"]),
        Route("/p/{post_id}/delete", threads.delete_post, methods=["POST"]),
        Route("/p/{post_id}/history", threads.history, methods=["GET"]),
        Route("/s/{statement_id}/versions", threads.statement_versions, methods=["GET"]),
        Route("/search", inbox.search, methods=["GET"]),
        Route("/notifications", inbox.notifications_page, methods=["GET"]),
        Route("/notifications/read", inbox.mark_read, methods=["POST"]),
        # caucuses
        Route("/caucuses", caucuses.caucus_list, methods=["GET"]),
        Route("/caucuses", caucuses.found, methods=["POST"]),
        Route("/caucuses/discuss", caucuses.discuss, methods=["POST"]),
        Route("/caucuses/{slug}", caucuses.caucus_page, methods=["GET"]),
        Route("/caucuses/{slug}/log", caucuses.caucus_log, methods=["GET"]),
        Route("/caucuses/{slug}/join", caucuses.join, methods=["POST"]),
        Route("/caucuses/{slug}/leave", caucuses.leave, methods=["POST"]),
        Route("/caucuses/{slug}/accept", caucuses.accept, methods=["POST"]),
        Route("/caucuses/{slug}/step-down", caucuses.step_down, methods=["POST"]),
        Route("/caucuses/{slug}/invite", caucuses.invite, methods=["POST"]),
        Route("/caucuses/{slug}/archive", caucuses.archive, methods=["POST"]),
        Route("/caucuses/{slug}/members/{handle}/{verb}", caucuses.member_action, methods=["POST"]),
        # moderation
        Route("/moderation/log", moderation.log_page, methods=["GET"]),
        Route("/p/{post_id}/flag", moderation.flag_page, methods=["GET"]),
        Route("/p/{post_id}/flag", moderation.flag, methods=["POST"]),
        Route("/p/{post_id}/moderate", moderation.post_page, methods=["GET"]),
        Route("/p/{post_id}/{verb}", moderation.post_action, methods=["POST"]),
        Route("/t/{thread_id}/moderate", moderation.thread_page, methods=["GET"]),
        Route("/t/{thread_id}/moderate", moderation.thread_action, methods=["POST"]),
        Route("/review", moderation.review, methods=["GET"]),
        Route("/review/{item_id}/{verb}", moderation.review_action, methods=["POST"]),
        Route("/m/{handle}", moderation.profile, methods=["GET"]),
        Route("/m/{handle}/warn", moderation.warn, methods=["POST"]),
        Route("/appeal", moderation.appeal_page, methods=["GET"]),
        Route("/appeal", moderation.appeal, methods=["POST"]),
        # admin
        Route("/admin/members", admin.members, methods=["GET"]),
        Route("/admin/members/{handle}/{verb}", admin.member_action, methods=["POST"]),
        Route("/admin/invites", admin.create_invite, methods=["POST"]),
        Route("/admin/mail", admin.mail, methods=["GET"]),
        Route("/admin/mail/{message_id}", admin.mail_message, methods=["GET"]),
        WebSocketRoute("/ws", ws.live),
        Mount("/api/v1", routes=api.routes()),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
