"""The real-name registry (实名制管理, 五(二)): one row per person, keyed by ID number."""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from trainees.id_numbers import InvalidIdNumber, mask_id_number, parse_id_number


class Household(models.TextChoices):
    RURAL = "rural", _("农业户籍")
    URBAN = "urban", _("城镇户籍")


class Sex(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class Group(models.TextChoices):
    POOR_LABOUR = "poor_labour", _("建档立卡贫困劳动力")
    POOR_FAMILY_CHILD = "poor_family_child", _("贫困家庭子女")
    TWO_AFTER = "two_after", _("两后生")
    RURAL_TRANSFER = "rural_transfer", _("农村转移就业劳动者")
    LAID_OFF = "laid_off", _("下岗失业人员和转岗职工")
    VETERAN = "veteran", _("退役军人")
    DISABLED = "disabled", _("残疾人")
    HARD_TO_EMPLOY = "hard_to_employ", _("就业困难人员")
    #: 三(二)9 参保企业吸纳就业困难人员、零就业家庭成员就业并开展以工代训.
    ZERO_EMPLOYMENT_FAMILY = "zero_employment_family", _("零就业家庭成员")


class Residence(models.TextChoices):
    URBAN = "urban", _("城市（城镇）")
    RURAL = "rural", _("乡村")


def validate_id_number(value: str) -> None:
    try:
        parse_id_number(value)
    except InvalidIdNumber as exc:
        raise ValidationError(exc.message, code="invalid_id_number") from exc


def validate_groups(value: object) -> None:
    if not isinstance(value, list) or any(g not in Group.values for g in value):
        raise ValidationError(_("人员类别无效"), code="invalid_groups")


class MessageLanguage(models.TextChoices):
    """The languages a trainee's text messages are sent in: the three of the pages
    trainees read (``settings.LANGUAGES``, issue 17)."""

    ZH_HANS = "zh-hans", "简体中文"
    UG = "ug", "维吾尔文（ئۇيغۇرچە）"
    KK_ARAB = "kk-arab", "哈萨克文（قازاقشا）"


class Trainee(models.Model):
    id_number = models.CharField(
        _("身份证号码"), max_length=18, unique=True, validators=[validate_id_number]
    )
    name = models.CharField(_("姓名"), max_length=50)
    birth_date = models.DateField(_("出生日期"), editable=False)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices, editable=False)
    household = models.CharField(
        _("户籍类型"), max_length=10, choices=Household.choices
    )
    groups = models.JSONField(
        _("人员类别"), default=list, blank=True, validators=[validate_groups]
    )
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    #: The language of the confirmation text messages (issue 17): the clerk records
    #: the one the person reads.
    message_language = models.CharField(
        _("短信语言"),
        max_length=10,
        choices=MessageLanguage.choices,
        default=MessageLanguage.ZH_HANS,
        db_default=MessageLanguage.ZH_HANS,  # rows written by COPY (benchmarks)
    )
    #: 五(二) 户籍地、常住地、求职就业地均可落实补贴: the person's three places, each a
    #: unit. The unit that registered the person is read as the household registration's
    #: (a clerk registers the people of the unit's own register).
    registered_by_unit = models.ForeignKey(
        "programs.Unit",
        verbose_name=_("户籍地（登记单位）"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    residence_unit = models.ForeignKey(
        "programs.Unit",
        verbose_name=_("常住地"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    job_seeking_unit = models.ForeignKey(
        "programs.Unit",
        verbose_name=_("求职就业地"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    #: 三(二)7 常住地在城市、户籍地在乡村 … 进城从事非农业生产6个月及以上.
    residence = models.CharField(
        _("常住地类型"),
        max_length=10,
        choices=Residence.choices,
        blank=True,
        default="",
        db_default="",
    )
    months_in_town = models.PositiveSmallIntegerField(
        _("进城从事非农业生产月数"), default=0, db_default=0
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("培训人员")
        verbose_name_plural = _("培训人员")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(id_number__regex=r"^[0-9]{17}[0-9X]$"),
                name="trainee_id_number_ascii_18",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.id_number_masked}）"

    def save(self, *args: object, **kwargs: object) -> None:
        # Birth date and sex always come from the number, never from input.
        facts = parse_id_number(self.id_number)
        self.id_number = facts.number
        self.birth_date = facts.birth_date
        self.sex = facts.sex
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    def group_labels(self) -> list[str]:
        return [str(Group(g).label) for g in self.groups if g in Group.values]


class RevealChannel(models.TextChoices):
    PAGE = "page", _("页面")
    API = "api", _("接口")


class RevealRecordIsFinal(Exception):
    """An attempt to rewrite the record of who saw a full ID number."""


class _AppendOnlyQuerySet(models.QuerySet["IdNumberReveal"]):
    def update(self, **kwargs: object) -> int:
        raise RevealRecordIsFinal("身份证号码查看记录不能修改")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise RevealRecordIsFinal("身份证号码查看记录不能删除")


class IdNumberReveal(models.Model):
    """One explicit request to see a person's full ID number: who, when, why, from where.

    Append-only like a claim's events: the application never updates or deletes a row
    (``save`` of a stored row, ``delete`` and the queryset's ``update``/``delete``
    refuse; on PostgreSQL a trigger refuses both even for raw SQL), and the admin shows
    the rows read-only.
    """

    trainee = models.ForeignKey(
        Trainee,
        verbose_name=_("培训人员"),
        on_delete=models.PROTECT,
        related_name="id_number_reveals",
    )
    actor = models.ForeignKey(
        "accounts.User",
        verbose_name=_("查看人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_role = models.CharField(_("查看时角色"), max_length=30)
    at = models.DateTimeField(_("查看时间"), auto_now_add=True, db_index=True)
    reason = models.TextField(_("查看理由"))
    channel = models.CharField(_("渠道"), max_length=10, choices=RevealChannel.choices)
    source = models.CharField(_("来源页面或接口"), max_length=200)
    address = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)

    objects = _AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("身份证号码查看记录")
        verbose_name_plural = _("身份证号码查看记录")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["actor", "at"], name="idreveal_actor_at")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(reason=""), name="idreveal_reason_required"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.actor_id} → {self.trainee_id} @ {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise RevealRecordIsFinal("身份证号码查看记录不能修改")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise RevealRecordIsFinal("身份证号码查看记录不能删除")


#: A person's facts that may change after registration, and only through
#: ``trainees.services.trainee_update_facts``. The ID number (and the birth date and
#: sex it gives) never changes: it is the person.
FACT_FIELDS = (
    "name",
    "household",
    "groups",
    "phone",
    "message_language",
    "registered_by_unit",
    "residence_unit",
    "job_seeking_unit",
    "residence",
    "months_in_town",
)


class FactChangeIsFinal(Exception):
    """An attempt to rewrite the record of a change of a person's facts."""


class _FactChangeQuerySet(models.QuerySet["TraineeFactChange"]):
    def update(self, **kwargs: object) -> int:
        raise FactChangeIsFinal("培训人员信息变更记录不能修改")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise FactChangeIsFinal("培训人员信息变更记录不能删除")


class TraineeFactChange(models.Model):
    """One change of a registered person's facts: who, in which role, when, why, and
    ``changes`` as ``{field: [old, new]}`` (the unit as its code). Written in the same
    transaction as the change itself; append-only like ``IdNumberReveal`` (on
    PostgreSQL a trigger refuses UPDATE and DELETE). No full ID number is ever stored
    here: the number is not a changeable fact, and any number typed into a fact is
    masked before it is recorded.
    """

    trainee = models.ForeignKey(
        Trainee,
        verbose_name=_("培训人员"),
        on_delete=models.PROTECT,
        related_name="fact_changes",
    )
    actor = models.ForeignKey(
        "accounts.User",
        verbose_name=_("修改人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_role = models.CharField(_("修改时角色"), max_length=30)
    at = models.DateTimeField(_("修改时间"), auto_now_add=True, db_index=True)
    reason = models.TextField(_("修改理由"))
    changes = models.JSONField(_("变更内容"))

    objects = _FactChangeQuerySet.as_manager()

    class Meta:
        verbose_name = _("培训人员信息变更记录")
        verbose_name_plural = _("培训人员信息变更记录")
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(reason=""),
                name="traineefactchange_reason_required",
                violation_error_message=_("请填写修改理由"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.actor_id} → {self.trainee_id} @ {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise FactChangeIsFinal("培训人员信息变更记录不能修改")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise FactChangeIsFinal("培训人员信息变更记录不能删除")

    def lines(self) -> list[tuple[str, str, str]]:
        """``(field label, old, new)`` for each changed fact, in words."""
        changes = self.changes if isinstance(self.changes, dict) else {}
        return [
            (_fact_label(field), _fact_text(field, old), _fact_text(field, new))
            for field, (old, new) in changes.items()
        ]


def _fact_label(field: str) -> str:
    try:
        return str(getattr(Trainee._meta.get_field(field), "verbose_name", field))
    except FieldDoesNotExist:  # a field since renamed: its stored name
        return field


def _fact_text(field: str, value: object) -> str:
    if value in (None, "", []):
        return "—"
    if field == "household" and value in Household.values:
        return str(Household(value).label)
    if field == "groups" and isinstance(value, list):
        return "、".join(
            str(Group(g).label) if g in Group.values else str(g) for g in value
        )
    return str(value)


class TraineeFound(models.Model):
    """A user found this person by their full ID number (issue 14, 3): the proof that
    the person is their business, which lets them open the person by id for a while
    (``trainees.selectors.trainees_in_scope``) — to file a claim for someone another
    unit registered, say. Walking ids opens nobody; one row per user and person, its
    time moved on each new finding (``trainees.services.trainee_found``)."""

    user = models.ForeignKey(
        "accounts.User",
        verbose_name=_("查找人"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    trainee = models.ForeignKey(
        Trainee,
        verbose_name=_("培训人员"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    at = models.DateTimeField(_("最近按身份证号码查到的时间"))

    class Meta:
        verbose_name = _("按身份证号码查到的人员")
        verbose_name_plural = _("按身份证号码查到的人员")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "trainee"], name="trainee_found_once_per_user"
            )
        ]
        indexes = [models.Index(fields=["user", "at"], name="trainee_found_user_at")]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.trainee_id} @ {self.at:%Y-%m-%d %H:%M}"
