"""Find or register a person by ID number; the number is masked for everyone after."""

from datetime import date

from django.urls import reverse

import pytest

from claims import services
from tests.factories import InstitutionFactory, TraineeFactory, make_id_number
from trainees.models import Trainee

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
VALID = make_id_number(date(1990, 5, 17), serial=7)
WRONG_CHECK = VALID[:17] + ("1" if VALID[17] != "1" else "2")


@pytest.fixture
def clerk_client(client, clerk):
    client.force_login(clerk)
    return client


def lookup(client, number, **extra):
    return client.post(reverse("trainee_lookup"), {"id_number": number}, **extra)


def test_the_lookup_page_renders_for_a_clerk(clerk_client):
    response = clerk_client.get(reverse("trainee_lookup"))
    assert response.status_code == 200
    assert "按身份证号码查找" in response.content.decode()


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("65430119900517", "身份证号码应为18位，当前为14位"),
        ("６５４３０１１９９００５１７００１Ｘ", "前17位须为半角数字"),
        ("654301199002300011", "出生日期不存在"),
        (WRONG_CHECK, "校验位错误"),
    ],
)
def test_an_invalid_number_is_explained_as_typed(clerk_client, number, message):
    response = lookup(clerk_client, number, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert "<html" not in html  # a partial for htmx


def test_a_valid_unknown_number_offers_the_registration_form(clerk_client):
    number = make_id_number(date(1995, 2, 3))
    html = lookup(clerk_client, number, **HTMX).content.decode()
    assert "登记新的培训人员" in html
    assert "1995年02月03日出生" in html
    for label in ("农业户籍", "城镇户籍", "建档立卡贫困劳动力", "就业困难人员"):
        assert label in html


def test_a_clerk_registers_a_trainee(clerk_client, clerk):
    number = make_id_number(date(1995, 2, 3), sex="F")
    response = clerk_client.post(
        reverse("trainee_register"),
        {
            "id_number": number,
            "name": "阿依古丽",
            "household": "rural",
            "groups": ["poor_labour", "rural_transfer"],
            "phone": "13912345678",
        },
    )
    trainee = Trainee.objects.get(id_number=number)
    assert response.status_code == 302
    assert response["Location"] == reverse("trainee_detail", args=[trainee.pk])
    assert (trainee.name, trainee.sex, trainee.registered_by_unit_id) == (
        "阿依古丽",
        "F",
        clerk.unit_id,
    )
    assert trainee.groups == ["poor_labour", "rural_transfer"]
    page = clerk_client.get(response["Location"]).content.decode()
    assert "已登记培训人员：阿依古丽" in page
    assert trainee.id_number_masked in page and number not in page


def test_a_clerk_records_the_language_of_a_persons_text_messages(clerk_client):
    number = make_id_number(date(1996, 4, 5), sex="M")
    clerk_client.post(
        reverse("trainee_register"),
        {
            "id_number": number,
            "name": "叶尔兰",
            "household": "rural",
            "phone": "13912345679",
            "message_language": "kk-arab",
        },
    )
    trainee = Trainee.objects.get(id_number=number)
    assert trainee.message_language == "kk-arab"
    page = clerk_client.get(reverse("trainee_detail", args=[trainee.pk]))
    assert "哈萨克文（قازاقشا）" in page.content.decode()
    # an edit that leaves the choice out of its post keeps the language
    clerk_client.post(
        reverse("trainee_edit", args=[trainee.pk]),
        {
            "name": "叶尔兰",
            "household": "urban",
            "phone": "13912345679",
            "registered_by_unit": trainee.registered_by_unit_id,
            "reason": "户籍类型更正",
        },
    )
    trainee.refresh_from_db()
    assert (trainee.household, trainee.message_language) == ("urban", "kk-arab")


def test_registration_with_missing_fields_is_refused_and_stores_nothing(clerk_client):
    number = make_id_number(date(1995, 2, 3))
    response = clerk_client.post(
        reverse("trainee_register"), {"id_number": number, "name": ""}
    )
    assert response.status_code == 400
    assert "必填项" in response.content.decode()
    assert not Trainee.objects.filter(id_number=number).exists()


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("abc", "联系电话只能包含半角数字"),
        # all digits, too few: it was told it held other characters
        ("1399", "联系电话位数不足"),
        ("13 99", "联系电话位数不足"),
        ("1399999", "联系电话无效"),
    ],
)
def test_a_bad_phone_is_refused_in_chinese_saying_what_is_wrong(
    clerk_client, phone, message
):
    number = make_id_number(date(1995, 2, 3))
    response = clerk_client.post(
        reverse("trainee_register"),
        {"id_number": number, "name": "张三", "household": "urban", "phone": phone},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Trainee.objects.filter(id_number=number).exists()


def test_a_reviewer_cannot_register(client, reviewer):
    client.force_login(reviewer)
    response = client.post(
        reverse("trainee_register"),
        {"id_number": make_id_number(), "name": "张三", "household": "urban"},
    )
    assert response.status_code == 403
    assert Trainee.objects.count() == 0


def test_a_known_person_shows_history_across_units_with_the_number_masked(
    client, clerk, other_clerk, trainee, claim_input
):
    # given a claim submitted for the person by another unit
    inst_b = InstitutionFactory(unit_id="654322")
    claim = services.claim_create(
        data=claim_input(unit_id="654322", institution_id=inst_b.pk),
        actor=other_clerk,
    )
    services.claim_submit(claim_id=claim.pk, actor=other_clerk)
    client.force_login(clerk)
    # when the first unit's clerk looks the person up (htmx and full page)
    partial = lookup(client, trainee.id_number, **HTMX).content.decode()
    page = lookup(client, trainee.id_number).content.decode()
    detail = client.get(reverse("trainee_detail", args=[trainee.pk])).content.decode()
    # then the history shows the trade, level and unit, and only the masked number
    for html in (partial, page, detail):
        assert trainee.id_number_masked in html
        assert trainee.id_number not in html
        assert "中式烹调师" in html and "四级/中级工" in html and "富蕴县" in html
        assert "2020年 1 次" in html
    assert "为此人新建申报" in detail
    assert f"{reverse('claim_create')}?trainee={trainee.pk}" in detail


def test_the_detail_of_a_missing_trainee_is_a_chinese_404(clerk_client):
    response = clerk_client.get(reverse("trainee_detail", args=[999999]))
    assert response.status_code == 404
    assert "未找到该页面或记录" in response.content.decode()


def test_registering_an_existing_number_returns_that_person(clerk_client, trainee):
    response = clerk_client.post(
        reverse("trainee_register"),
        {"id_number": trainee.id_number, "name": "别人", "household": "urban"},
    )
    assert response.status_code == 302
    assert Trainee.objects.count() == 1
    trainee.refresh_from_db()
    assert trainee.name != "别人"


def test_trainees_of_any_unit_are_found(clerk_client):
    person = TraineeFactory(registered_by_unit_id="654322")
    html = lookup(clerk_client, person.id_number, **HTMX).content.decode()
    assert "已登记人员" in html and person.name in html
