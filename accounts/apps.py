from typing import Any

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    verbose_name = "账户"
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        user_logged_out.connect(
            _end_api_tokens, dispatch_uid="accounts.end_api_tokens_at_sign_out"
        )


def _end_api_tokens(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Signing out (the site's page or the admin's) ends the user's API tokens too."""
    if user is not None and user.pk is not None:
        from accounts.tokens import tokens_revoke

        tokens_revoke(user=user)
