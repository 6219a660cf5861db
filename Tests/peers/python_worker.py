"""A worker of the official Python SDK, used by our tests as an independent peer.

Usage: python3 python_worker.py ADDRESS TASK_QUEUE [NAMESPACE]
Prints "ready" once polling. Workflows:
  PyEcho(x)            -> {"echo": x, "by": "python"}
  PyFail(msg)          -> raises ApplicationError(msg, type="PyFailure", non_retryable=True)
  PyWaitForSignal()    -> waits for signal "finish" (str) and returns it; query "state" -> current state
  PyContinueAsNew(n)   -> continues as new until n == 0, then returns "done after continue-as-new"
  PyManyEvents(n)      -> runs n short local timers-free steps via activity py_shout, returns count
Activities:
  py_shout(s)          -> s.upper()
"""
import asyncio
import os
import sys
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker


@activity.defn(name="py_shout")
async def py_shout(s: str) -> str:
    return s.upper()


@workflow.defn(name="PyEcho")
class PyEcho:
    @workflow.run
    async def run(self, x: Any) -> dict:
        return {"echo": x, "by": "python"}


@workflow.defn(name="PyFail")
class PyFail:
    @workflow.run
    async def run(self, msg: str) -> None:
        raise ApplicationError(msg, "detail-1", type="PyFailure", non_retryable=True)


@workflow.defn(name="PyWaitForSignal")
class PyWaitForSignal:
    def __init__(self) -> None:
        self.value = None
        self.state = "waiting"

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.value is not None)
        self.state = "finished"
        return self.value

    @workflow.signal(name="finish")
    def finish(self, value: str) -> None:
        self.value = value

    @workflow.query(name="state")
    def get_state(self) -> str:
        return self.state


@workflow.defn(name="PyContinueAsNew")
class PyContinueAsNew:
    @workflow.run
    async def run(self, n: int) -> str:
        if n > 0:
            workflow.continue_as_new(n - 1)
        return "done after continue-as-new"


@workflow.defn(name="PyManyEvents")
class PyManyEvents:
    @workflow.run
    async def run(self, n: int) -> int:
        for i in range(n):
            await workflow.execute_activity(
                "py_shout", f"step {i}", start_to_close_timeout=timedelta(seconds=10)
            )
        return n


async def main() -> None:
    address, queue = sys.argv[1], sys.argv[2]
    namespace = sys.argv[3] if len(sys.argv) > 3 else "default"
    client = await Client.connect(address, namespace=namespace)
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[PyEcho, PyFail, PyWaitForSignal, PyContinueAsNew, PyManyEvents],
        activities=[py_shout],
    )
    parent = os.getppid()
    async with worker:
        print("ready", flush=True)
        # Exit when the test process that started us is gone.
        while os.getppid() == parent:
            await asyncio.sleep(0.5)


if __name__ == "__main__":
    asyncio.run(main())
