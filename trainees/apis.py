"""The real-name registry over the API: register, look up by number, read a person.

The registry is prefecture-wide (a person may claim in any unit, 五(二)), so any
signed-in user may look a person up; only clerks and administrators register, and only
a clerk of the person's own unit or the prefecture changes their facts (PATCH, recorded
with its reason). The full ID number goes in, never out: responses carry
``id_number_masked`` only, except the one audited POST
``/api/trainees/{id}/id-number/`` for the roles whose work needs it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.cache import BaseCache, caches

from drf_spectacular.utils import OpenApiResponse, extend_schema
from redis.exceptions import RedisError
from rest_framework import status
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from accounts.apis import signed_in_user
from altay_skills.api import (
    ErrorSerializer,
    ValidationErrorSerializer,
)
from altay_skills.client_address import client_address
from trainees.models import RevealChannel, Trainee
from trainees.selectors import shows_whole_record, trainee_in_scope
from trainees.serializers import (
    IdNumberRevealRequestSerializer,
    IdNumberRevealSerializer,
    TraineeFactsChangeSerializer,
    TraineeLimitedSerializer,
    TraineeRegisterSerializer,
    TraineeSerializer,
)
from trainees.services import (
    id_number_reveal,
    trainee_register,
    trainee_update_facts,
)

logger = logging.getLogger(__name__)

TAG = "trainees"
UNAUTHENTICATED = OpenApiResponse(ErrorSerializer, description="未登录")
BAD_INPUT = OpenApiResponse(
    ValidationErrorSerializer,
    description="输入有误；身份证号码无效时 code 为 invalid_id_number",
)
THROTTLED = OpenApiResponse(
    ErrorSerializer, description="查询过于频繁（code 为 throttled，见 Retry-After）"
)


class TraineeReadThrottle(UserRateThrottle):
    """Reads of the registry (GET) per user: ``settings.TRAINEE_READ_RATE``, 600 an hour
    unless configured — a day's work of a busy clerk, far below walking the registry.
    Past it the API answers 429 ``throttled`` in Chinese with ``Retry-After``.

    Counted in the ``throttle`` cache (Redis when ``REDIS_URL`` is set, so every
    gunicorn worker shares one count). Redis out of reach lets the read through (and
    logs it): a limit must not turn an outage of the counter into one of the registry.
    """

    scope = "trainee_reads"

    @property
    def cache(self) -> BaseCache:  # type: ignore[override]
        return caches["throttle"]

    def get_rate(self) -> str:
        return str(settings.TRAINEE_READ_RATE)

    def allow_request(self, request: Any, view: Any) -> bool:
        if request.method not in SAFE_METHODS:
            return True
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError) as exc:
            logger.warning("trainee read throttle unavailable: %s", type(exc).__name__)
            return True


def person_data(user: Any, trainee: Trainee) -> dict[str, Any]:
    """The person as ``user`` may read them: the whole record in their own unit and
    for the prefecture, the limited one elsewhere (``shows_whole_record``)."""
    if shows_whole_record(user, trainee):
        return dict(TraineeSerializer(trainee).data)
    return dict(TraineeLimitedSerializer(trainee).data)


class TraineeListCreateApi(APIView):
    """Register (POST) here; the lookup (GET), which shows a person outside the
    reader's unit with their history, is ``claims.registry_apis.TraineeListApi``."""

    throttle_classes = [TraineeReadThrottle]

    @extend_schema(
        tags=[TAG],
        summary="登记培训人员（实名制）",
        description=(
            "新登记返回 201；该身份证号码已登记时返回 200 和已登记的人员（不重复登记、"
            "不修改原记录；他单位登记的人员只返回 id、脱敏身份证号码和姓名）。"
            "出生日期和性别取自身份证号码。仅县(市)经办人和管理员可登记。"
        ),
        request=TraineeRegisterSerializer,
        responses={
            201: TraineeSerializer,
            200: OpenApiResponse(
                TraineeSerializer, description="该号码已登记（他单位人员为精简视图）"
            ),
            400: BAD_INPUT,
            401: UNAUTHENTICATED,
            403: ErrorSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        body = TraineeRegisterSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = signed_in_user(request)
        trainee, created = trainee_register(**body.validated_data, actor=user)
        return Response(
            person_data(user, trainee),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class TraineeFactsApi(APIView):
    """PATCH a person's facts. The same path's GET (the person with their subsidy
    history) reads claims, so it is the claim stage's: ``claims.registry_apis
    .TraineeDetailApi`` extends this view and is what ``altay_skills.api_urls`` mounts
    as ``api-trainee-detail``."""

    throttle_classes = [TraineeReadThrottle]

    @extend_schema(
        tags=[TAG],
        summary="修改培训人员信息（留痕）",
        description=(
            "修改姓名、户籍类型、人员类别、联系电话或登记单位（单位代码）；"
            "reason 必填。仅该人员登记单位的县(市)经办人或地区审核人可修改，"
            "系统管理员不能修改。每次修改都记录修改人、时间、理由和改前改后的值；"
            "身份证号码（及由其得出的出生日期、性别）不能修改。"
        ),
        request=TraineeFactsChangeSerializer,
        responses={
            200: TraineeSerializer,
            400: OpenApiResponse(
                ValidationErrorSerializer,
                description="输入有误；未填写理由时 code 为 reason_required",
            ),
            401: UNAUTHENTICATED,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def patch(self, request: Request, pk: int) -> Response:
        user = signed_in_user(request)
        trainee = trainee_in_scope(user, pk)
        body = TraineeFactsChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        trainee = trainee_update_facts(
            actor=user, trainee_id=trainee.pk, reason=fields.pop("reason"), **fields
        )
        return Response(TraineeSerializer(trainee).data)


class TraineeIdNumberApi(APIView):
    # every reveal is counted and recorded: never replayed for an Idempotency-Key
    idempotency_exempt = True

    @extend_schema(
        tags=[TAG],
        summary="查看完整身份证号码（留痕）",
        description=(
            "仅限工作需要的角色：该人员所属单位（登记单位）的经办人，或本单位有该人员"
            "已提交且未撤回、未驳回申报的经办人（草稿不算）；该人员有已提交申报时的"
            "审核人、财政和督查。理由必填（不超过500字，不含控制字符）；每次查看都记录"
            "查看人、时间、理由和来源地址（经受信任的反向代理时为客户端地址），"
            "每人每小时最多30次（超出返回 429）。只接受 POST，GET 不返回号码。"
        ),
        request=IdNumberRevealRequestSerializer,
        responses={
            200: IdNumberRevealSerializer,
            400: OpenApiResponse(
                ValidationErrorSerializer, description="未填写理由（reason_required）"
            ),
            401: UNAUTHENTICATED,
            403: ErrorSerializer,
            404: ErrorSerializer,
            429: OpenApiResponse(ErrorSerializer, description="查看过于频繁"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        user = signed_in_user(request)
        trainee = trainee_in_scope(user, pk)
        body = IdNumberRevealRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        number = id_number_reveal(
            trainee_id=trainee.pk,
            actor=user,
            reason=body.validated_data["reason"],
            channel=RevealChannel.API,
            source=request.path,
            address=client_address(request),
        )
        response = Response({"id": trainee.pk, "id_number": number})
        response["Cache-Control"] = "no-store"
        return response
