"""The mistakes one after another: plant → publish → symptom → doctor names it → apply its fix → publish → welcome.

Each mistake starts from the seed pipeline restored; a mistake stops at its first step that cannot be verified and
the next mistake runs (each is independent of the others).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from evctl.sandbox.demo import StepResult

from .catalogue import MISTAKES, Mistake
from .steps import MistakesContext, publish_signup, step_apply_fix, step_doctor, step_welcome

Step = Callable[[MistakesContext], StepResult]
STEP_NAMES = ("plant", "publish a signup", "symptom", "doctor", "apply the fix", "publish again", "welcome email")


def steps_of(mistake: Mistake) -> list[Step]:
    """The seven verified steps of one mistake."""
    first = "publish a signup" + ("" if mistake.with_email else " without an email (the handler rejects it)")
    return [
        mistake.plant,
        lambda ctx: publish_signup(ctx, first, with_email=mistake.with_email),
        mistake.symptom,
        lambda ctx: step_doctor(ctx, mistake.checks),
        lambda ctx: step_apply_fix(ctx, mistake.checks, mistake.prepare_fix, mistake.after_apply),
        lambda ctx: publish_signup(ctx, "publish a signup again"),
        lambda ctx: step_welcome(ctx, pollers=mistake.pollers, extra=_bound(mistake, ctx)),
    ]


def _bound(mistake: Mistake, ctx: MistakesContext) -> Callable[[], str | None] | None:
    check = mistake.check_end
    return None if check is None else lambda: check(ctx)


def run(ctx: MistakesContext, mistakes: Sequence[Mistake] | None = None) -> Iterator[tuple[Mistake, int, StepResult]]:
    """(mistake, step number, result) as each step completes."""
    for mistake in MISTAKES if mistakes is None else mistakes:
        for number, step in enumerate(steps_of(mistake), start=1):
            started = ctx.clock()
            try:
                result = step(ctx)
            except Exception as exc:  # a step's AWS call (or a fix command) failed: that step's failure
                result = StepResult(STEP_NAMES[number - 1], False, f"{type(exc).__name__}: {exc}")
            result.seconds = ctx.clock() - started
            result.data = {"mistake": mistake.number, "checks": list(mistake.checks), **result.data}
            yield mistake, number, result
            if not result.ok:
                break
