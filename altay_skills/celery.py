"""The Celery application. Without REDIS_URL every task runs eagerly in-process."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "altay_skills.settings")

app = Celery("altay_skills")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
