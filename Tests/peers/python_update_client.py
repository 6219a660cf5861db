"""A client of the official Python SDK that sends Workflow Updates to a workflow run by our worker
(WorkflowUpdateTests): prints "added:<result>" for a valid update and "rejected:<message>" for
one the workflow's validator refuses.

    python3 python_update_client.py ADDRESS WORKFLOW_ID
"""
import asyncio
import sys

from temporalio.client import Client, WorkflowUpdateFailedError


async def main(address: str, workflow_id: str) -> None:
    client = await Client.connect(address)
    handle = client.get_workflow_handle(workflow_id)
    added = await handle.execute_update("add", 20)
    print(f"added:{added}", flush=True)
    try:
        await handle.execute_update("add", -1)
        print("rejected:no", flush=True)
    except WorkflowUpdateFailedError as error:
        print(f"rejected:{error.cause}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
