"""A client of the official Python SDK with an AES-256-GCM payload codec following the
encryption samples' conventions (binary/encrypted, encryption-key-id, nonce || ciphertext+tag of
the serialized Payload). Used by PayloadEncryptionTests to show that our encrypted payloads and
the Python SDK's are the same thing.

    python3 python_codec_client.py ADDRESS KEY_ID KEY_BASE64 TASK_QUEUE NEW_WORKFLOW_ID EXISTING_WORKFLOW_ID

Starts workflow "Hello" ({"name": "py"}) on TASK_QUEUE and prints "started:<result>", then
prints "read:<result>" of EXISTING_WORKFLOW_ID (a run our client started).
"""
import asyncio
import base64
import dataclasses
import os
import sys
from typing import List, Sequence

import temporalio.converter
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.client import Client


class SealingCodec(temporalio.converter.PayloadCodec):
    def __init__(self, key_id: str, key: bytes) -> None:
        self.key_id = key_id
        self.aead = AESGCM(key)

    async def encode(self, payloads: Sequence[Payload]) -> List[Payload]:
        sealed = []
        for payload in payloads:
            nonce = os.urandom(12)
            body = nonce + self.aead.encrypt(nonce, payload.SerializeToString(), None)
            sealed.append(Payload(metadata={"encoding": b"binary/encrypted", "encryption-key-id": self.key_id.encode()}, data=body))
        return sealed

    async def decode(self, payloads: Sequence[Payload]) -> List[Payload]:
        opened = []
        for payload in payloads:
            if payload.metadata.get("encoding", b"") != b"binary/encrypted":
                opened.append(payload)
                continue
            key_id = payload.metadata.get("encryption-key-id", b"").decode()
            if key_id != self.key_id:
                raise ValueError(f"payload encrypted with unknown key {key_id!r}")
            opened.append(Payload.FromString(self.aead.decrypt(payload.data[:12], payload.data[12:], None)))
        return opened


async def main(address: str, key_id: str, key_b64: str, task_queue: str, new_id: str, existing_id: str) -> None:
    converter = dataclasses.replace(temporalio.converter.default(), payload_codec=SealingCodec(key_id, base64.b64decode(key_b64)))
    client = await Client.connect(address, data_converter=converter)
    started = await client.execute_workflow("Hello", {"name": "py"}, id=new_id, task_queue=task_queue)
    print(f"started:{started}", flush=True)
    read = await client.get_workflow_handle(existing_id).result()
    print(f"read:{read}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:7]))
