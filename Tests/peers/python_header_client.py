"""A client of the official Python SDK whose interceptor puts header "tenant" on every start,
query, update and signal, driving a workflow run by our worker with a worker interceptor
(InterceptorTests): prints "query:<answer>", "update:<result>" and "result:<workflow result>".

    python3 python_header_client.py ADDRESS TASK_QUEUE WORKFLOW_ID
"""
import asyncio
import sys

from temporalio import converter
from temporalio.client import Client, Interceptor, OutboundInterceptor


def with_tenant(headers):
    tenant = converter.default().payload_converter.to_payload("python-co")
    return {**headers, "tenant": tenant}


class TenantOutbound(OutboundInterceptor):
    async def start_workflow(self, input):
        input.headers = with_tenant(input.headers)
        return await super().start_workflow(input)

    async def query_workflow(self, input):
        input.headers = with_tenant(input.headers)
        return await super().query_workflow(input)

    async def signal_workflow(self, input):
        input.headers = with_tenant(input.headers)
        return await super().signal_workflow(input)

    async def start_workflow_update(self, input):
        input.headers = with_tenant(input.headers)
        return await super().start_workflow_update(input)


class TenantInterceptor(Interceptor):
    def intercept_client(self, next):
        return TenantOutbound(next)


async def main(address: str, task_queue: str, workflow_id: str) -> None:
    client = await Client.connect(address, interceptors=[TenantInterceptor()])
    handle = await client.start_workflow("TenantFlow", id=workflow_id, task_queue=task_queue)
    print(f"query:{await handle.query('tenant')}", flush=True)
    print(f"update:{await handle.execute_update('rename', 'py')}", flush=True)
    await handle.signal("go")
    print(f"result:{','.join(await handle.result())}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
