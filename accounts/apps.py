from django.apps import AppConfig


class AccountsConfig(AppConfig):
    verbose_name = "账户"
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"
