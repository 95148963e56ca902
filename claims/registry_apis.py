"""The registry's person over the API, with their subsidy history (五(二)).

Outside the person's own unit a clerk reads the limited view (issue 14, 3): the masked
number, the name and the history — what the limits need — and finds the person by
their full ID number (``GET /api/trainees/?id_number=``), never by walking ids: by id a
clerk opens their own unit's people and those with a live claim of their unit only.

``GET /api/trainees/{id}/`` shows a person and what they have claimed in every unit; the
history is their claims, so the view lives in the claim stage and the registry
(``trainees``, an earlier stage) never imports claims. The same path's PATCH (a change of
the person's facts) is the registry's own: this view extends ``trainees.apis
.TraineeFactsApi``, and ``altay_skills.api_urls`` mounts it as ``api-trainee-detail``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.apis import signed_in_user
from altay_skills.api import ErrorSerializer, ValidationErrorSerializer
from claims.selectors import subsidy_history
from claims.serializers import TraineeDetailSerializer, TraineeLimitedDetailSerializer
from trainees.apis import (
    BAD_INPUT,
    TAG,
    THROTTLED,
    UNAUTHENTICATED,
    TraineeFactsApi,
    TraineeListCreateApi,
)
from trainees.models import Trainee
from trainees.selectors import (
    shows_whole_record,
    trainee_by_id_number,
    trainee_in_scope,
)
from trainees.serializers import (
    TraineeHistoryQuerySerializer,
    TraineeLookupSerializer,
    TraineeSerializer,
)
from trainees.services import trainee_found

#: A person as the reader may see them: the whole record, or the limited view.
PERSON = PolymorphicProxySerializer(
    component_name="TraineeAsRead",
    serializers=[TraineeDetailSerializer, TraineeLimitedDetailSerializer],
    resource_type_field_name=None,
)


def _limited(trainee: Trainee, year: int | None) -> dict[str, Any]:
    history = subsidy_history(trainee, year=year)
    return dict(
        TraineeLimitedDetailSerializer(trainee, context={"history": history}).data
    )


class TraineeListApi(TraineeListCreateApi):
    @extend_schema(
        tags=[TAG],
        summary="按身份证号码查找培训人员",
        description=(
            "按完整身份证号码精确查找（全地区），返回0或1人的数组。本单位登记的人员"
            "（地区审核、财政、督查和管理员：所有人员）返回完整信息；他单位登记的人员"
            "只返回 id、脱敏身份证号码、姓名和补贴记录（history：本年度已计次数、已享受"
            "的职业·等级），不含电话、户籍和人员类别。号码无效时返回 400，code 为 "
            "invalid_id_number。每人每小时最多查询600次（可配置），超出返回 429。"
        ),
        parameters=[TraineeLookupSerializer, TraineeHistoryQuerySerializer],
        responses={
            200: PolymorphicProxySerializer(
                component_name="TraineeFound",
                serializers=[TraineeSerializer, TraineeLimitedDetailSerializer],
                resource_type_field_name=None,
                many=True,
            ),
            400: BAD_INPUT,
            401: UNAUTHENTICATED,
            429: THROTTLED,
        },
    )
    def get(self, request: Request) -> Response:
        query = TraineeLookupSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        period = TraineeHistoryQuerySerializer(data=request.query_params)
        period.is_valid(raise_exception=True)
        user = signed_in_user(request)
        trainee = trainee_by_id_number(user, query.validated_data["id_number"])
        if trainee is None:
            return Response([])
        trainee_found(actor=user, trainee=trainee)
        if shows_whole_record(user, trainee):
            return Response([TraineeSerializer(trainee).data])
        return Response([_limited(trainee, period.validated_data.get("year"))])


class TraineeDetailApi(TraineeFactsApi):
    @extend_schema(
        tags=[TAG],
        summary="培训人员及其补贴记录",
        description=(
            "history 汇总该人员在全地区各单位已计次的培训补贴（已提交、已核准、已退回；"
            "草稿、驳回、撤回不计），以及已享受或申请中的职业·等级（五(二)）。"
            "县(市)经办人只能按 id 打开本单位登记的人员和本单位有已提交申报的人员"
            "（后者只返回 id、脱敏身份证号码、姓名和 history）；其他人员返回 404，"
            "请按身份证号码查找。"
        ),
        parameters=[TraineeHistoryQuerySerializer],
        responses={
            200: OpenApiResponse(PERSON),
            400: ValidationErrorSerializer,
            401: UNAUTHENTICATED,
            404: ErrorSerializer,
            429: THROTTLED,
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        query = TraineeHistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        user = signed_in_user(request)
        trainee = trainee_in_scope(user, pk)
        year = query.validated_data.get("year")
        if not shows_whole_record(user, trainee):
            return Response(_limited(trainee, year))
        history = subsidy_history(trainee, year=year)
        return Response(
            TraineeDetailSerializer(trainee, context={"history": history}).data
        )
