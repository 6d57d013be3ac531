"""The live display of ``lab campaign run``: a progress bar per campaign, and Ctrl-C as
a pause (imported when a campaign runs, so ``lab --help`` stays quick)."""

from __future__ import annotations

import signal
import sys
import threading
import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lab.campaigns.results import Progress as TrialProgress
from lab.campaigns.results import RunnerEvents
from lab.campaigns.runner import CampaignRunner
from lab.cli._common import console
from lab.store import TrialStatus


class _CtrlC:
    """The first Ctrl-C pauses at the next step boundary and says how to go on; Enter
    resumes, a second Ctrl-C aborts the trial in flight (recorded as failed)."""

    def __init__(self, runner: CampaignRunner) -> None:
        self.runner = runner
        self.paused = False

    def __call__(self, signum: int, frame: object) -> None:
        if self.paused:
            raise KeyboardInterrupt
        self.runner.executor.pause()
        console.print(
            "[yellow]pausing at the next step boundary.[/yellow] Press Enter to resume; "
            "Ctrl-C again aborts the trial in flight (it is recorded as failed and the "
            "station goes to its safe state).",
            highlight=False,
        )
        self.hold()

    def hold(self) -> None:
        """The executor is paused: Enter resumes it, Ctrl-C aborts."""
        if not self.paused:
            self.paused = True
            threading.Thread(target=self._resume_on_enter, daemon=True).start()

    def _resume_on_enter(self) -> None:
        if sys.stdin.readline() and self.paused:  # '' is the end of input: not a yes
            self.paused = False
            self.runner.executor.resume()
            console.print("resumed", highlight=False)


class ProgressBar(RunnerEvents):
    """Trial k of N, the best so far and wall time per trial (planning included)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"),
            TextColumn("{task.fields[per_trial]}/trial"),
            TimeElapsedColumn(),
            console=console,
        )
        self.task = self.bar.add_task(name, total=None, best="-", per_trial="-")
        self.start, self.first = 0.0, 0

    def attached(self, runner: CampaignRunner) -> None:
        """Take over Ctrl-C for this runner (pause, then abort)."""
        self.ctrl_c = _CtrlC(runner)
        signal.signal(signal.SIGINT, self.ctrl_c)

    def consumable_low(self, warning: str, short: bool = False) -> None:
        """Say it above the bar."""
        console.print(f"[yellow]consumables:[/yellow] {warning}", highlight=False)

    def paused(self, reason: str) -> None:
        """Say why the campaign paused and how to go on."""
        console.print(
            f"[yellow]paused:[/yellow] {reason}. Press Enter to go on; Ctrl-C stops.",
            highlight=False,
        )
        self.ctrl_c.hold()

    def started(self, done: int, total: int) -> None:
        """Show the bar, from the trials already in the store."""
        self.start, self.first = time.perf_counter(), done
        self.bar.start()
        self.bar.update(self.task, completed=done, total=total)
        if done:
            console.print(f"resuming {self.name}: {done} trials already in the store")

    def trial_finished(self, progress: TrialProgress) -> None:
        """Advance the bar; say why a trial failed."""
        per_trial = (time.perf_counter() - self.start) / (progress.done - self.first)
        best = ", ".join(f"{k}={v:.4g}" for k, v in (progress.best or {}).items()) or "-"
        self.bar.update(
            self.task,
            completed=progress.done,
            total=progress.total,
            best=best,
            per_trial=f"{per_trial:.1f}s",
        )
        last = progress.last
        if last.status != TrialStatus.COMPLETED:
            console.print(
                f"[yellow]trial {last.index} failed:[/yellow] {last.error}", highlight=False
            )
