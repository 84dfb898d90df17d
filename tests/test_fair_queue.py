"""The live path's fair queue (issue 28 item 9): stale drawings replaced, one model pass per page at a time,
pages in turn, batches across pages; and the live path through it (tiny models)."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import CancelledError

import numpy as np
import pytest

from pix2pix_demo.fair_queue import Busy, FairQueue, Superseded


def recorder():
    """A run_batch that records each batch's payloads and answers each payload doubled."""
    batches = []

    def run_batch(payloads):
        batches.append(list(payloads))
        return [payload * 2 for payload in payloads]

    return batches, run_batch


def test_a_newer_drawing_replaces_the_waiting_one_and_keeps_its_place():
    batches, run = recorder()
    queue = FairQueue(run, max_batch=1, workers=0)
    a1 = queue.submit("a", 1)
    b1 = queue.submit("b", 10)
    a2 = queue.submit("a", 2)
    with pytest.raises(Superseded):
        a1.result(timeout=0)
    assert queue.waiting_pages() == ["a", "b"]  # page a still first in line
    queue.run_next()
    queue.run_next()
    assert batches == [[2], [10]] and a2.result(timeout=0) == 4 and b1.result(timeout=0) == 20
    assert queue.run_next() == []  # the replaced drawing never runs


def test_pages_take_turns_however_fast_one_of_them_draws():
    batches, run = recorder()
    queue = FairQueue(run, max_batch=1, workers=0)
    for page, value in (("a", 1), ("b", 2), ("c", 3)):
        queue.submit(page, value)
    order = []
    for step in range(6):
        batch = queue.run_next()
        order.append(batch[0].page)
        if batch[0].page == "a":  # page a sends a new drawing the moment it gets its picture
            queue.submit("a", 100 + step)
    assert order == ["a", "b", "c", "a", "a", "a"]  # a waits for b and c; alone, it runs each time
    assert [payloads[0] for payloads in batches][:4] == [1, 2, 3, 100]


def test_one_model_pass_per_page_at_a_time():
    batches, run = recorder()
    queue = FairQueue(run, max_batch=4, workers=0)
    queue.submit("a", 1)
    running = queue.take(block=False)
    assert [job.page for job in running] == ["a"] and queue.running_pages() == {"a"}
    a2 = queue.submit("a", 2)
    assert queue.take(block=False) == []  # a's next drawing waits while its first one runs
    queue.submit("b", 3)
    assert [job.payload for job in queue.take(block=False)] == [3]  # b is not held up by a, and a is not batched
    queue.finish(running)
    assert [job.payload for job in queue.take(block=False)] == [2]
    assert not a2.done()


def test_batches_take_pages_in_line_order_with_the_same_key_and_variations_alone():
    batches, run = recorder()
    queue = FairQueue(run, max_batch=3, workers=0)
    for page, value, key in (("a", 1, "cats"), ("b", 2, None), ("c", 3, "cats"), ("d", 4, "shoes"),
                             ("e", 5, "cats"), ("f", 6, "cats")):
        queue.submit(page, value, batch_key=key)
    while queue.run_next():
        pass
    assert batches == [[1, 3, 5], [2], [4], [6]]
    assert all(len(batch) <= 3 for batch in batches)


def test_too_many_waiting_pages_are_refused_but_a_waiting_page_may_replace_its_drawing():
    batches, run = recorder()
    queue = FairQueue(run, max_pages=2, workers=0)
    queue.submit("a", 1)
    queue.submit("b", 2)
    with pytest.raises(Busy):
        queue.submit("c", 3).result(timeout=0)
    b2 = queue.submit("b", 4)
    while queue.run_next():
        pass
    assert b2.result(timeout=0) == 8 and queue.waiting_pages() == []


def test_a_failed_batch_fails_its_requests_and_frees_their_pages():
    calls = []

    def run(payloads):
        calls.append(payloads)
        if len(calls) == 1:
            raise ValueError("model broke")
        return payloads

    queue = FairQueue(run, max_batch=2, workers=0)
    first, second = queue.submit("a", 1, "k"), queue.submit("b", 2, "k")
    queue.run_next()
    for future in (first, second):
        with pytest.raises(ValueError, match="model broke"):
            future.result(timeout=0)
    assert queue.running_pages() == set()
    again = queue.submit("a", 3)
    queue.run_next()
    assert again.result(timeout=0) == 3


def test_a_cancelled_request_is_not_run():
    batches, run = recorder()
    queue = FairQueue(run, workers=0)
    gone = queue.submit("a", 1)
    gone.cancel()
    queue.submit("b", 2)
    queue.run_next()
    assert batches == [[2]]
    with pytest.raises(CancelledError):
        gone.result(timeout=0)


def test_worker_threads_never_run_two_drawings_of_one_page_at_once():
    """Two workers, eight pages sending as fast as they can: at no moment does a page have two drawings in a
    model pass, every drawing is answered (its picture or Superseded), and every page's last drawing runs."""
    lock, active, overlaps, seen = threading.Lock(), {}, [], []

    def run(payloads):
        with lock:
            for page, _ in payloads:
                if active.get(page):
                    overlaps.append(page)
                active[page] = True
            seen.extend(payloads)
        time.sleep(0.002)
        with lock:
            for page, _ in payloads:
                active[page] = False
        return payloads

    queue = FairQueue(run, max_batch=3, workers=2)
    futures = {page: [] for page in range(8)}

    def client(page):
        for step in range(40):
            futures[page].append(queue.submit(page, (page, step), batch_key="m"))
            time.sleep(0.0005 * (page % 3))

    threads = [threading.Thread(target=client, args=(page,)) for page in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = []
    for page, page_futures in futures.items():
        for future in page_futures:
            try:
                outcomes.append(future.result(timeout=10))
            except Superseded:
                outcomes.append("superseded")
        assert page_futures[-1].result(timeout=0) == (page, 39)  # the newest drawing always runs
    assert overlaps == []
    assert sorted(o for o in outcomes if o != "superseded") == sorted(seen)


# ---------------------------------------------------------------- the live path through the queue


@pytest.fixture
def paused_live_queue(tiny_weights_dir, monkeypatch):
    """live's queue without a worker: the test decides when a batch runs."""
    from pix2pix_demo.ui import live

    queue = FairQueue(live.run_drawings, max_batch=4, workers=0)
    monkeypatch.setattr(live, "_queue", queue)
    return queue


def _drawing(offset: int):
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (256, 256), "white")
    ImageDraw.Draw(image).ellipse([30 + offset, 40, 200, 210 - offset], outline="black", width=3)
    return image


def test_live_pages_are_batched_and_a_stale_drawing_is_answered_superseded(paused_live_queue):
    from pix2pix_demo.ui import live
    from tests.test_draw_live import png_data_url

    async def scenario():
        request = lambda page, offset, **extra: {"png": png_data_url(_drawing(offset)), "model": "edges2cats",  # noqa: E731
                                                 "page": page, **extra}
        tasks = [asyncio.create_task(live.render(request("page-a", 0))),
                 asyncio.create_task(live.render(request("page-b", 10, coat="black")))]
        while len(paused_live_queue.waiting_pages()) < 2:
            await asyncio.sleep(0.01)
        tasks.append(asyncio.create_task(live.render(request("page-a", 20))))  # a's newer drawing
        while not tasks[0].done():
            await asyncio.sleep(0.01)
        await asyncio.to_thread(paused_live_queue.run_next)
        return await asyncio.gather(*tasks)

    stale, b, a = asyncio.run(scenario())
    assert stale == {"superseded": True}
    assert a["batch"] == b["batch"] == 2 and a["image"] != b["image"]
    # the batched pictures are the ones each drawing gets alone (up to float rounding and the JPEG)
    alone = asyncio.run(scenario_alone(live, png_data_url, paused_live_queue))
    for batched, single in zip((a["image"], b["image"]), alone):
        difference = np.abs(pixels(batched) - pixels(single))
        assert difference.mean() < 0.5 and difference.max() <= 8


def pixels(url: str) -> np.ndarray:
    import base64
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"), dtype=np.float32)


async def scenario_alone(live, png_data_url, queue):
    results = []
    for page, offset, extra in (("page-a", 20, {}), ("page-b", 10, {"coat": "black"})):
        task = asyncio.create_task(live.render({"png": png_data_url(_drawing(offset)), "model": "edges2cats",
                                                "page": page, **extra}))
        while not queue.waiting_pages():
            await asyncio.sleep(0.01)
        await asyncio.to_thread(queue.run_next)
        result = await task
        assert result["batch"] == 1
        results.append(result["image"])
    return results


def test_batched_pass_matches_single_passes(tiny_weights_dir):
    from pix2pix_demo.ui import logic

    pipe = logic.get_pipeline("edges2cats")
    drawings = [_drawing(offset).convert("L") for offset in (0, 15, 30)]
    coats = [None, "black", "ginger"]
    batched = pipe.batch(drawings, coats)
    for drawing, coat, picture in zip(drawings, coats, batched):
        single = np.asarray(pipe(drawing, coat=coat), dtype=np.int16)
        assert np.abs(np.asarray(picture, dtype=np.int16) - single).max() <= 1
    with pytest.raises(ValueError, match="coats"):
        pipe.batch(drawings, coats[:2])
    # the fur switch per drawing (the live path's "fur"; the tiny model asks for it): off for one drawing only
    furs = [None, False, True]
    batched = pipe.batch(drawings, coats, furs)
    for drawing, coat, fur, picture in zip(drawings, coats, furs, batched):
        single = np.asarray(pipe(drawing, coat=coat, fur=fur), dtype=np.int16)
        assert np.abs(np.asarray(picture, dtype=np.int16) - single).max() <= 2
    assert not np.array_equal(np.asarray(batched[1]), np.asarray(pipe(drawings[1], coat="black")))  # default: fur
    with pytest.raises(ValueError, match="1 fur switches"):
        pipe.batch(drawings, coats, furs[:1])
    with pytest.raises(ValueError, match="2 holes switches"):
        pipe.batch(drawings, coats, furs, [True, False])


@pytest.mark.parametrize("fields, message", [({"page": 3}, "page id"), ({"page": "x" * 65}, "page id"),
                                             ({"page": "../etc"}, "page id"), ({"page": "a b"}, "page id"),
                                             ({"page": "a", "seq": -1}, "sequence number"),
                                             ({"page": "a", "seq": "7"}, "sequence number"),
                                             ({"page": "a", "seq": True}, "sequence number")])
def test_live_refuses_a_bad_page_id_or_sequence_number(tiny_weights_dir, fields, message):
    from pix2pix_demo.ui import live
    from tests.test_draw_live import png_data_url

    result = asyncio.run(live.render({"png": png_data_url(_drawing(0)), "model": "edges2cats", **fields}))
    assert list(result) == ["error"] and message in result["error"]


def test_an_older_drawing_that_arrives_late_does_not_replace_a_newer_one():
    """Requests overtake each other on the way (a preview sent before the finished stroke reached the queue after
    it, in the browser test): the page's own count decides which one is newer."""
    batches, run = recorder()
    queue = FairQueue(run, workers=0)
    newer = queue.submit("a", "stroke", order=2)
    late = queue.submit("a", "preview", order=1)
    with pytest.raises(Superseded):
        late.result(timeout=0)
    queue.run_next()
    assert batches == [["stroke"]] and newer.result(timeout=0) == "strokestroke"
    replaced = queue.submit("a", "x", order=3)
    queue.submit("a", "y", order=4)
    with pytest.raises(Superseded):
        replaced.result(timeout=0)
