"""The registry's person over the API, with their subsidy history (五(二)).

``GET /api/trainees/{id}/`` shows a person and what they have claimed in every unit; the
history is their claims, so the view lives in the claim stage and the registry
(``trainees``, an earlier stage) never imports claims. The same path's PATCH (a change of
the person's facts) is the registry's own: this view extends ``trainees.apis
.TraineeFactsApi``, and ``altay_skills.api_urls`` mounts it as ``api-trainee-detail``.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.apis import signed_in_user
from altay_skills.api import ErrorSerializer, ValidationErrorSerializer
from claims.selectors import subsidy_history
from claims.serializers import TraineeDetailSerializer
from trainees.apis import TAG, UNAUTHENTICATED, TraineeFactsApi
from trainees.selectors import trainee_for
from trainees.serializers import TraineeHistoryQuerySerializer


class TraineeDetailApi(TraineeFactsApi):
    @extend_schema(
        tags=[TAG],
        summary="培训人员及其补贴记录",
        description=(
            "history 汇总该人员在全地区各单位已计次的培训补贴（已提交、已核准、已退回；"
            "草稿、驳回、撤回不计），以及已享受或申请中的职业·等级（五(二)）。"
        ),
        parameters=[TraineeHistoryQuerySerializer],
        responses={
            200: TraineeDetailSerializer,
            400: ValidationErrorSerializer,
            401: UNAUTHENTICATED,
            404: ErrorSerializer,
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        query = TraineeHistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        trainee = trainee_for(signed_in_user(request), pk)
        history = subsidy_history(trainee, year=query.validated_data.get("year"))
        return Response(
            TraineeDetailSerializer(trainee, context={"history": history}).data
        )
