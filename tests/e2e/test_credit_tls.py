"""Credit analysis over mutual TLS (REGUA_CREDIT_GRPC_TLS_* on the server, REGUA_CREDIT_CLIENT_TLS_* on the
caller): a second credit process with a certificate from a test CA; a caller with the CA and its own
certificate gets answers, a plaintext caller or one without a client certificate does not connect."""

import asyncio
import datetime as dt
import ipaddress
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from regua.credit.v1 import credit_analysis_pb2 as pb
from regua.credit.v1 import credit_analysis_pb2_grpc as pb_grpc

from regua_credit_client import CreditClient
from regua_credit_client.client import channel_credentials
from regua_localstack.processes import Service, free_port
from regua_localstack.stack import LocalStack
from regua_platform.service_tokens import TokenIssuer
from regua_platform.settings import Settings


def _certificate(directory: Path, name: str, issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None
                 ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
               .not_valid_after(now + dt.timedelta(days=1)))
    if issuer is None:  # the CA
        builder = builder.issuer_name(subject).add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        signer = key
    else:
        builder = builder.issuer_name(issuer[0].subject).add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        signer = issuer[1]
    certificate = builder.sign(signer, hashes.SHA256())
    (directory / f"{name}.crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (directory / f"{name}.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return certificate, key


@pytest.fixture(scope="module")
def tls_credit(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    certs = tmp_path_factory.mktemp("tls")
    ca = _certificate(certs, "ca", None)
    _certificate(certs, "server", ca)
    _certificate(certs, "ruler", ca)
    grpc_port = free_port()
    env = {**stack.service_env("credit"), "REGUA_CREDIT_GRPC_PORT": str(grpc_port),
           "REGUA_CREDIT_GRPC_TLS_CERT": str(certs / "server.crt"),
           "REGUA_CREDIT_GRPC_TLS_KEY": str(certs / "server.key"),
           "REGUA_CREDIT_GRPC_TLS_CLIENT_CA": str(certs / "ca.crt")}
    service = Service.python_module("credit-tls", "regua_credit", free_port(), env, stack.workdir / "logs")
    service.start()
    try:
        service.wait_ready()
        yield f"127.0.0.1:{grpc_port}", certs
    finally:
        service.stop()


def test_mutual_tls_with_a_service_token(stack: LocalStack, tls_credit: tuple[str, Path]) -> None:
    target, certs = tls_credit
    settings = Settings(credit_client_tls_ca=str(certs / "ca.crt"), credit_client_tls_cert=str(certs / "ruler.crt"),
                        credit_client_tls_key=str(certs / "ruler.key"))
    credentials = channel_credentials(settings)
    assert credentials is not None

    async def ask() -> bool:
        async with CreditClient(target, deadline=5.0, credentials=TokenIssuer(stack.signer("ruler")),
                                channel_credentials=credentials) as client:
            profile = await client.debtor_profile("tn_x", uuid.uuid4())
            return not profile.found and not profile.fallback  # the service answered: an unknown debtor

    assert asyncio.run(ask())

    request = pb.GetDebtorProfileRequest(debtor_id=str(uuid.uuid4()))
    metadata = (TokenIssuer(stack.signer("ruler")).metadata("tn_x"),)
    with grpc.insecure_channel(target) as plain, pytest.raises(grpc.RpcError) as raised:
        pb_grpc.CreditAnalysisServiceStub(plain).GetDebtorProfile(request, metadata=metadata, timeout=5)
    assert raised.value.code() is grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    server_only = grpc.ssl_channel_credentials((certs / "ca.crt").read_bytes())  # no client certificate
    with grpc.secure_channel(target, server_only) as tls, pytest.raises(grpc.RpcError) as raised:
        pb_grpc.CreditAnalysisServiceStub(tls).GetDebtorProfile(request, metadata=metadata, timeout=5)
    assert raised.value.code() is grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
