"""The OpenAPI schema class: every view documents the errors DRF answers for it."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

#: The ``Idempotency-Key`` request header (altay_skills.idempotency, issue 21).
IDEMPOTENCY_KEY_DESCRIPTION = (
    "幂等键（可选）：1至100个可见ASCII字符（不含空格），如一个 UUID，每个新的写操作用一个"
    "新键。请求没有收到应答（连接中断、502、503）时，用同一幂等键原样重发，操作只执行一次："
    "首次的成功应答（2xx）与操作在同一事务中保存，重发时原样返回，并带应答头 "
    "Idempotent-Replayed: true。同一幂等键用于不同的请求方法、路径或内容返回 422"
    "（idempotency_key_reused）；格式无效返回 400（invalid_idempotency_key）；非 2xx 的应答"
    "不保存，可用同一幂等键重试；同一幂等键的首次请求尚未完成时，重发的请求等它完成后返回其"
    "应答，最多等待 IDEMPOTENCY_WAIT_SECONDS 秒（默认30秒），超时返回 409"
    "（request_in_progress），请稍后重试。幂等键按用户区分，保存 IDEMPOTENCY_KEY_HOURS "
    "小时（默认24小时）；未登录的请求忽略此请求头。"
)
REPLAYED_DESCRIPTION = (
    "为 true 时，本应答是同一幂等键首次请求的应答，原样重发，本次未执行操作"
)
#: What the idempotency layer adds to an operation's error answers, by status.
IDEMPOTENCY_ERRORS = {
    "400": "幂等键格式无效（invalid_idempotency_key）",
    "409": "同一幂等键的请求尚未完成（request_in_progress），请稍后重试",
    "422": "幂等键已用于另一个请求（idempotency_key_reused）",
}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema plus the errors every view of a kind can answer.

    A view documents its own business errors (403, 404, 409 …); the answers DRF gives
    before the view runs are added here, so the schema lists every status the API
    really returns: a paginated list answers 404 for a page past the end, a body that
    is not JSON (or a form) answers 400 or 415, and a view behind a login answers 401.
    A write a signed-in user can send takes the ``Idempotency-Key`` header, with its
    errors and the ``Idempotent-Replayed`` header of a replayed answer.
    """

    def _takes_idempotency_key(self) -> bool:
        """A write that takes a signed-in user, whose answer may be kept (the
        middleware ignores the header elsewhere)."""
        from altay_skills.idempotency import EXEMPT_ATTRIBUTE, WRITE_METHODS

        return (
            self.method in WRITE_METHODS
            and bool(self.view.get_authenticators())
            and not getattr(self.view, EXEMPT_ATTRIBUTE, False)
        )

    def get_override_parameters(self) -> list[Any]:
        parameters: list[Any] = list(super().get_override_parameters())
        if self._takes_idempotency_key():
            from altay_skills.idempotency import HEADER, MAX_KEY_LENGTH

            parameters.append(
                OpenApiParameter(
                    name=HEADER,
                    type=OpenApiTypes.STR,
                    location=OpenApiParameter.HEADER,
                    required=False,
                    description=IDEMPOTENCY_KEY_DESCRIPTION,
                    pattern=rf"^[!-~]{{1,{MAX_KEY_LENGTH}}}$",
                )
            )
        return parameters

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        # here, not at the top: altay_skills.api imports drf_spectacular.views, which
        # reads DEFAULT_SCHEMA_CLASS (this class) while it loads
        from altay_skills.api import ErrorSerializer, ValidationErrorSerializer

        bodies: dict[str, Any] = super()._get_response_bodies(direction)
        extra: dict[str, OpenApiResponse] = {}
        if self._is_list_view() and self._get_paginator() is not None:
            extra["404"] = OpenApiResponse(ErrorSerializer, description="页码超出范围")
        if self._get_request_body(direction="request") is not None:
            extra["400"] = OpenApiResponse(
                ValidationErrorSerializer, description="请求内容无法解析或输入有误"
            )
            extra["415"] = OpenApiResponse(
                ErrorSerializer, description="不支持的内容类型（请用 JSON）"
            )
        if self.view.get_authenticators():
            extra["401"] = OpenApiResponse(ErrorSerializer, description="未登录")
        if self._takes_idempotency_key():
            for code, description in IDEMPOTENCY_ERRORS.items():
                if code in bodies or code in extra:
                    continue
                extra[code] = OpenApiResponse(ErrorSerializer, description=description)
        for code, response in extra.items():
            if code not in bodies:
                bodies[code] = self._get_response_for_code(
                    response, code, direction=direction
                )
        if self._takes_idempotency_key():
            self._add_idempotency_answers(bodies)
        return dict(sorted(bodies.items()))

    def _add_idempotency_answers(self, bodies: dict[str, Any]) -> None:
        """A 2xx may be a replay (its header); a 400 or 409 the view already answers
        for its own reasons names the idempotency layer's too."""
        from altay_skills.idempotency import REPLAYED_HEADER

        for code, body in bodies.items():
            if code.startswith("2"):
                body.setdefault("headers", {})[REPLAYED_HEADER] = {
                    "schema": {"type": "string", "enum": ["true"], "example": "true"},
                    "description": REPLAYED_DESCRIPTION,
                }
            elif code in IDEMPOTENCY_ERRORS:
                own = body.get("description") or ""
                if IDEMPOTENCY_ERRORS[code] not in own:
                    body["description"] = "；".join(
                        part for part in (own, IDEMPOTENCY_ERRORS[code]) if part
                    )


# --- Tags in Chinese ----------------------------------------------------------------------
#: The views' tags (areas of the API), as the docs name them.
TAG_LABELS = {
    "auth": "登录与令牌",
    "claims": "补贴申报",
    "trainees": "培训人员",
    "reports": "季度报表",
    "rollups": "汇总与拨付表",
    "payments": "资金拨付",
    "reference": "项目与机构目录",
    "notifications": "通知",
    "public": "公开信息",
    "classes": "培训班",
    "documents": "证明材料",
}
TAG_DESCRIPTIONS = {
    "登录与令牌": "登录换取令牌、注销（令牌只显示一次）",
    "补贴申报": "申报的录入、提交、审核与补贴核定（阿行办发〔2019〕50号 三、四、五）",
    "培训人员": "培训人员登记与查询（身份证号码按角色脱敏）",
    "季度报表": "按季汇总报表、抽查与审核（五(一)）",
    "汇总与拨付表": "全地区汇总与财政拨付明细表（XLSX）",
    "资金拨付": "先行拨付与余额拨付记录（五(二)）",
    "项目与机构目录": "补贴项目、职业(工种)、等级、培训机构",
    "通知": "当前用户的待办与通知",
    "公开信息": "无需登录的公开信息：补贴公示、项目与机构目录",
    "培训班": "培训班开班备案、花名册、课时考勤与结业（按班生成申报）",
    "证明材料": "申报的证明材料：上传（按内容识别PDF、JPEG、PNG）与下载（留痕）",
}


# --- A real example for every field ----------------------------------------------------
#: Examples by property name: Swagger UI otherwise makes them up from the type
#: ("program": 9223372036854776000, "cap": "-307832430.").
EXAMPLES: dict[str, Any] = {
    "id": 1,
    "claim": 1,
    "location": "阿勒泰市职业技能培训中心",
    "return_reason": "授课教师资质证明未附",
    "sha256": "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef",
    "content_type": "application/pdf",
    "file": "签到表.pdf",
    "report": 1,
    "rollup": 1,
    "payment": 1,
    "trainee": 1,
    "institution": 1,
    "employer": 4,
    "program": 9,
    "reissue_of": 1,
    "reissued_by": 2,
    "rank": 4,
    "highest_rank": 5,
    "lowest_rank": 1,
    "number": 9,
    "year": 2020,
    "count": 1,
    "claims": 12,
    "claim_count": 12,
    "lines": 12,
    "trained": 12,
    "passed": 11,
    "employed": 9,
    "person_times": 12,
    "attempts": 1,
    "progress": 100,
    "quantity": 1,
    "annual_limit": 3,
    "counted_this_year": 1,
    "remaining_this_year": 2,
    "months_in_town": 6,
    "work_in_lieu_months": 0,
    "recovery": 0,
    "unit": "654301",
    "residence_unit": "654301",
    "registered_by_unit": "654301",
    "job_seeking_unit": "654301",
    "unit_name": "阿勒泰市",
    "quarter": "2020Q1",
    "id_number": "654301199005170032",
    "id_number_masked": "654301********0032",
    "trainee_id_number_masked": "654301********0032",
    "credit_code": "91654301MA7755U8GE",
    "name": "阿勒泰职业技术学院",
    "name_en": "Altay Vocational and Technical College",
    "trainee_name": "张伟",
    "institution_name": "阿勒泰职业技术学院",
    "program_name": "就业重点群体免费培训",
    "trade": "4-03-02-01",
    "trade_name": "中式烹调师",
    "level": "intermediate",
    "level_name": "四级/中级工",
    "certificate_number": "1965430120200331001",
    "phone": "13899912345",
    "username": "clerk_654301",
    "password": "（账号的密码）",  # nosec B105 - a placeholder in the API docs
    "token": "3f1c0b6e2d9a4c7e8b5f1a2d3c4e5f60",  # nosec B105 - made up
    "fund": "special",
    "fund_label": "职业技能提升行动专项资金",
    "clause": "三(三)9",
    "section": "三(三)",
    "basis": "阿行办发〔2019〕50号",
    "subsidy_basis": "阿行办发〔2019〕50号 三(三)9",
    "source_document": "阿行办发〔2019〕50号",
    "edition": "2019",
    "code": "not_found",
    "message": "申报不存在",
    "reason": "培训结束日期早于开始日期",
    "note": "已核对培训签到表",
    "text": "2020Q1 季度报表已退回，请补正后重新报送",
    "link": "/reports/1/",
    "actor": "张丽",
    "checksum": "9f2c4e1a7b3d5f60",
    "workbook_sha256": (
        "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
    ),
    "workbook_url": "/api/rollups/1/xlsx/",
    "seed": "2020Q1-654301-42",
    "spot_check_seed": "2020Q1-654301-42",
    "reference": "PZ2020040001",
    "settlement_reference": "PZ2020040001",
    "kind_label": "余额拨付",
    "part": "balance",
    "lead_units": "人社局",
    "responsible_units": "人社局、财政局",
    "error": "",
    "failure_reason": "",
    "budget_reason": "预算追加文件已到",
    "budget_override_reason": "预算追加文件已到",
    "spot_check_override_reason": "复核无误",
    "created_by": "张丽",
    "reviewed_by": "马建华",
    "recorded_by": "李淑芳",
    "settled_by": "李淑芳",
    "built_by": "张丽",
    "submitted_by": "张丽",
    "spot_checked_by": "马建华",
    "closed_by": "马建华",
    "checked_by": "马建华",
    "requested_by": "马建华",
    "drawn_by": "马建华",
    "admission_status": "admitted",
    "kind": "vocational_college",
    "status": "used",
    "from_status": "submitted",
    "to_status": "approved",
    # the trainee's confirmation (issue 17)
    "name_masked": "张*丰",
    "status_label": "未答复",
    "id_last4": "123X",
    "finding": "经核实本人参加，签到表与本人签名一致",
    # the public notice (issue 17)
    "key": "d767944688923dc8cca189f2c2e2ce37cc53d041",
    "image_url": "/captcha/image/d767944688923dc8cca189f2c2e2ce37cc53d041/",
    "answer": "KXQM",
    "contact": "13899912345",
    "decided_by": "马建华",
}
#: An amount of money in the docs' examples: an amount a clerk might request, not a cap
#: (the caps live in the data migration, never as literals: test_policy_lives_in_data).
AMOUNT_EXAMPLE = "1500.00"
#: Examples for an amount of money (a decimal string in yuan) by name.
MONEY_EXAMPLES = {"share": "0.10", "ratio": "0.40", "spot_check_share": "0.10"}
DATE_EXAMPLES = {
    "training_start": "2020-03-01",
    "training_end": "2020-03-31",
    "birth_date": "1990-05-17",
    "hire_date": "2020-04-01",
    "paid_on": "2020-04-20",
    "decided_on": "2020-04-15",
    "effective_from": "2019-01-01",
    "effective_to": "2021-12-31",
}
DATE_TIME_EXAMPLE = "2020-04-10T10:00:00+08:00"


def _example_for(name: str, prop: dict[str, Any]) -> Any:
    kind, fmt = prop.get("type"), prop.get("format", "")
    if "enum" in prop:
        values = [v for v in prop["enum"] if v not in (None, "")]
        return values[0] if values else None
    if kind == "string" and fmt == "date":
        return DATE_EXAMPLES.get(name, "2020-03-31")
    if kind == "string" and fmt == "date-time":
        return DATE_TIME_EXAMPLE
    if kind == "string" and fmt == "uri":
        return "https://altay.example.cn/api/claims/?page=2"
    if kind == "string" and (fmt == "decimal" or "pattern" in prop):
        return MONEY_EXAMPLES.get(name, AMOUNT_EXAMPLE)
    if kind == "boolean":
        return True
    example = EXAMPLES.get(name)
    if kind == "integer":
        return example if isinstance(example, int) else 1
    if kind == "string":
        if name in MONEY_NAMES:
            return AMOUNT_EXAMPLE
        if name == "program":
            return "9 就业重点群体免费培训"
        return example if isinstance(example, str) else None
    return None


#: Plain-string money fields (computed figures, not model decimals).
MONEY_NAMES = {
    "advance",
    "balance",
    "due",
    "owed",
    "paid",
    "recovered",
    "recovery",
    "to_recover",
    "failed",
}


#: A "name" by what the component names: (part of the component's name, example).
NAMES = (
    ("Trainee", "张伟"),
    ("Program", "就业重点群体免费培训"),
    ("Catalogue", "就业重点群体免费培训"),
    ("Trade", "中式烹调师"),
    ("Level", "四级/中级工"),
    ("Unit", "阿勒泰市"),
)


def _fill(node: Any, component: str = "") -> None:
    """Give each property without an example one, in every schema below ``node``
    (nested objects and array items too)."""
    if isinstance(node, list):
        for item in node:
            _fill(item, component)
        return
    if not isinstance(node, dict):
        return
    for name, prop in (node.get("properties") or {}).items():
        if (
            not isinstance(prop, dict)
            or "example" in prop
            or "$ref" in prop
            or prop.get("type") in ("array", "object", None)
        ):
            continue
        example = _example_for(name, prop)
        if name == "name" and prop.get("type") == "string":
            example = next((e for part, e in NAMES if part in component), example)
        if example is not None:
            prop["example"] = example
    for key, value in node.items():
        if key != "example":
            _fill(value, component)


def fill_examples(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every scalar property without an example
    gets a real one (by name, else by type); the tags are named in Chinese and
    described."""
    for component, schema in result.get("components", {}).get("schemas", {}).items():
        _fill(schema, component)
    _fill(result.get("paths", {}))
    used = set()
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "tags" in operation:
                operation["tags"] = [TAG_LABELS.get(t, t) for t in operation["tags"]]
                used.update(operation["tags"])
    result["tags"] = [
        {"name": tag, "description": TAG_DESCRIPTIONS.get(tag, "")}
        for tag in TAG_LABELS.values()
        if tag in used
    ]
    return result
