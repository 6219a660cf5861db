"""The official Python SDK running the benchmark's workflow shape (the peer we compare with).

Usage: python3 python_bench_worker.py ADDRESS TASK_QUEUE
Same workflow and activity names, inputs and outputs as TemporalBench's Swift worker:
BenchFlow(member) -> bench_extract -> bench_transform -> bench_load.
"""
import asyncio
import os
import sys
from datetime import timedelta
from typing import Any, List

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker


@activity.defn(name="bench_extract")
async def bench_extract(member: str) -> List[dict]:
    return [{"id": i, "employee_id": member} for i in range(3)]


@activity.defn(name="bench_transform")
async def bench_transform(rows: List[dict]) -> List[dict]:
    return [{"id": f"e-{r['id']}", "employee_id": r["employee_id"], "type": "bug:created"} for r in rows]


@activity.defn(name="bench_load")
async def bench_load(events: List[dict]) -> int:
    return len(events)


@workflow.defn(name="BenchFlow")
class BenchFlow:
    @workflow.run
    async def run(self, member: str) -> dict:
        t = timedelta(seconds=30)
        rows = await workflow.execute_activity("bench_extract", member, start_to_close_timeout=t)
        events = await workflow.execute_activity("bench_transform", rows, start_to_close_timeout=t)
        n = await workflow.execute_activity("bench_load", events, start_to_close_timeout=t)
        return {"member": member, "items_processed": len(events), "items_inserted": n}


async def main() -> None:
    client = await Client.connect(sys.argv[1])
    parent = os.getppid()
    async with Worker(client, task_queue=sys.argv[2], workflows=[BenchFlow],
                      activities=[bench_extract, bench_transform, bench_load]):
        print("ready", flush=True)
        while os.getppid() == parent:
            await asyncio.sleep(0.5)


if __name__ == "__main__":
    asyncio.run(main())
