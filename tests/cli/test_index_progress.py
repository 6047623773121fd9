"""`paperfeed index`'s progress bar shows the rate (abstracts/s) and the time left."""

from __future__ import annotations

import io

from rich.console import Console

from paperfeed.cli.search_cmd import RateColumn, index_progress


def _shown(progress: object) -> str:
    console = Console(file=io.StringIO(), width=160)
    console.print(progress.make_tasks_table(progress.tasks))  # type: ignore[attr-defined]
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


def test_the_bar_shows_the_rate_and_the_time_left() -> None:
    clock = iter(float(t) for t in range(0, 1000, 10))  # each read of the clock: 10 s later
    progress = index_progress()
    progress.get_time = lambda: next(clock)  # type: ignore[method-assign]
    task = progress.add_task("embedding (paperfeed-minilm-sci)", total=10_000)
    for done in (0, 1000, 2000, 3000):
        progress.update(task, completed=done)
    text = _shown(progress)
    assert "3000/10000" in text
    assert "100 abstracts/s" in text  # 1,000 abstracts every 10 s
    assert "ETA 0:01:10" in text  # 7,000 left at 100 a second


def test_the_rate_is_a_dash_before_any_batch_is_done() -> None:
    progress = index_progress()
    task = progress.add_task("embedding", total=None)
    assert str(RateColumn("abstracts").render(progress.tasks[task])) == "– abstracts/s"
    assert "– abstracts/s" in _shown(progress)
