"""doctor's framework: the catalogue, registration, outcomes (fail / pass / not_checked), --fail-on."""

from __future__ import annotations

from evctl.core.doctor import BY_ID, CATALOGUE, REGISTRY, failing
from tests.core.doctor.seed import QUEUE, DoctorSeed


def test_the_catalogue_has_every_check_once() -> None:
    ids = [info.id for info in CATALOGUE]
    assert len(ids) == 74 and len(set(ids)) == 74
    assert set(REGISTRY) <= set(BY_ID)


def test_every_check_says_what_it_detects_why_it_matters_the_fix_and_its_source() -> None:
    empty = [(info.id, key) for info in CATALOGUE for key in ("detects", "why", "fix", "source") if not getattr(info, key)]
    assert empty == []


def test_the_seed_pipeline_has_no_finding_at_high_or_above(seed: DoctorSeed) -> None:
    report = seed.doctor()
    assert failing(report, fail_on="high") == [], [f.message for f in report.findings]
    assert {o.status for o in report.outcomes} <= {"pass", "fail", "not_checked"}


def test_visibility_shorter_than_the_function_timeout_is_found_and_the_fix_removes_it(seed: DoctorSeed) -> None:
    seed.sqs.set_queue_attributes(QueueUrl=seed.queue_url, Attributes={"VisibilityTimeout": "2"})
    [finding] = seed.doctor(only={"Q-VIS-1"}).findings
    assert finding.check == "Q-VIS-1" and finding.resource == QUEUE
    assert finding.evidence["VisibilityTimeout"] == 2 and finding.evidence["Timeout"] == 3
    seed.apply(finding.fix)
    assert seed.doctor(only={"Q-VIS-1"}).findings == []


def test_a_denied_read_is_not_checked_never_a_pass(seed: DoctorSeed) -> None:
    def deny(**_: object) -> tuple[object, dict[str, object]]:
        class Http:
            status_code = 403

        return Http(), {"Error": {"Code": "AccessDeniedException", "Message": "no"}}

    seed.lambda_.meta.events.register("before-call.lambda.GetFunctionConfiguration", deny)
    outcomes = [o for o in seed.doctor(only={"Q-VIS-1"}).outcomes if o.resource == QUEUE]
    assert [(o.status, o.reason) for o in outcomes] == [("not_checked", "lambda:GetFunctionConfiguration denied")]


def test_a_bare_404_is_a_call_this_endpoint_lacks_not_a_crash(seed: DoctorSeed) -> None:
    # What botocore makes of an HTML "Not Found" page (moto has no GetAccountSettings route, for one).
    def not_found(**_: object) -> tuple[object, dict[str, object]]:
        class Http:
            status_code = 404

        return Http(), {"Error": {"Code": "404", "Message": "Not Found"}, "ResponseMetadata": {"HTTPStatusCode": 404}}

    seed.lambda_.meta.events.register("before-call.lambda.GetAccountSettings", not_found)
    outcomes = seed.doctor(only={"F-ACCT-1"}).outcomes
    assert [(o.status, o.reason) for o in outcomes] == [("not_checked", "not available from this endpoint")]
