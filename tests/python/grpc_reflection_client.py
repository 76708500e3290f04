"""A generic gRPC client (Python grpcio) that knows nothing of ClawSec's protos: it
discovers the services through server reflection, builds the request messages from the
reflected descriptors, and calls GetPosture, ListChecks and Authorize over the Unix socket.

Usage: grpc_reflection_client.py SOCKET   (prints one JSON object)
"""
import json
import sys

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase


def list_services(channel, version: str) -> list:
    """Asks one reflection version directly (v1 and v1alpha share the wire format)."""
    stream = channel.stream_stream(
        f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    for response in stream(iter([request]), timeout=10):
        return sorted(s.name for s in response.list_services_response.service)
    return []


def main() -> int:
    socket = sys.argv[1]
    # tonic over a Unix socket needs a valid :authority; grpcio would send the socket path.
    channel = grpc.insecure_channel(f"unix://{socket}", options=[("grpc.default_authority", "localhost")])
    db = ProtoReflectionDescriptorDatabase(channel)
    services = sorted(db.get_services())
    pool = descriptor_pool.DescriptorPool(db)
    service = pool.FindServiceByName("clawsec.v1.ClawSec")

    def call(method_name: str, request: dict) -> dict:
        method = service.FindMethodByName(method_name)
        req_cls = message_factory.GetMessageClass(method.input_type)
        resp_cls = message_factory.GetMessageClass(method.output_type)
        rpc = channel.unary_unary(
            f"/clawsec.v1.ClawSec/{method_name}",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=resp_cls.FromString,
        )
        response = rpc(json_format.ParseDict(request, req_cls()), timeout=10)
        return json_format.MessageToDict(response, preserving_proto_field_name=True)

    posture = call("GetPosture", {})
    checks = call("ListChecks", {})
    decision = call("Authorize", {"action": "exec"})
    print(json.dumps({
        "services": services,
        "reflection": {v: list_services(channel, v) for v in ("v1", "v1alpha")},
        "methods": [m.name for m in service.methods],
        "trust_tier": posture["posture"]["trust_tier"],
        "overall_score": posture["posture"].get("overall_score", 0),
        "checks": len(checks["checks"]),
        "allow_exec": decision.get("allow", False),
        "attestation_digest": decision.get("attestation_digest", ""),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
