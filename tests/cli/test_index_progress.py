"""`paperfeed index`'s progress bar shows the rate (abstracts/s) and the time left."""

from __future__ import annotations

import io

from rich.console import Console
from rich.progress import Progress

from paperfeed.cli.search_cmd import RateColumn, index_progress


class Clock:
    """rich's clock, moved on by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _progress() -> tuple[Progress, Clock]:
    clock = Clock()
    progress = index_progress()
    progress.get_time = clock  # type: ignore[method-assign]
    return progress, clock


def _shown(progress: Progress) -> str:
    console = Console(file=io.StringIO(), width=160)
    console.print(progress.make_tasks_table(progress.tasks))
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


def test_the_bar_shows_the_rate_and_the_time_left() -> None:
    progress, clock = _progress()
    task = progress.add_task("embedding (paperfeed-minilm-sci)", total=10_000)
    for done in (1000, 2000, 3000):
        clock.now += 10
        progress.update(task, completed=done)
    text = _shown(progress)
    assert "3000/10000" in text
    assert "100 abstracts/s" in text  # 1,000 abstracts every 10 s
    assert "ETA 0:01:10" in text  # 7,000 left at 100 a second


def test_batches_slower_than_the_estimate_window_still_show_a_rate() -> None:
    progress, clock = _progress()
    task = progress.add_task("embedding", total=1024)
    clock.now = 200.0
    progress.update(task, completed=256)  # one batch in 200 s: rich has no estimate of its own
    text = _shown(progress)
    assert "1.3 abstracts/s" in text  # 256 in the 200 s since the task began
    assert "ETA 0:10:00" in text  # 768 left at 1.28 a second


def test_the_rate_is_a_dash_before_any_batch_is_done() -> None:
    progress, _ = _progress()
    task = progress.add_task("embedding", total=None)
    assert str(RateColumn("abstracts").render(progress.tasks[task])) == "– abstracts/s"
    assert "ETA -:--:--" in _shown(progress)
