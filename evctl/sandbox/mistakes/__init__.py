"""`evctl demo mistakes`: the seed article's Common Mistakes, each planted in the sandbox's seed pipeline, seen as a
user meets it, named by doctor, fixed by doctor's printed command, and verified by a welcome email.

    ctx = MistakesContext(clients, pipeline, runner, client_for=factory.client, workdir=tmp)
    for mistake, number, result in run(ctx):          # every step as it completes (a StepResult, as `evctl demo`)
        ...

Modules: catalogue (the Mistake list: plant, symptom, the check id, what a fix needs) · steps (restoring the seed,
publishing, driving the runner, doctor in-process, applying a fix through evctl.core.doctor.apply) · handlers (the
article's handler and a slow one) · run (the steps of each mistake, in order).
"""

from __future__ import annotations

from .catalogue import MISTAKES, Mistake
from .run import run, steps_of
from .steps import MistakesContext

__all__ = ["MISTAKES", "Mistake", "MistakesContext", "run", "steps_of"]
