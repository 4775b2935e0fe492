"""Ed25519 keys in OpenSSH format: generate, load, fingerprint, sign and verify.

Every cryptographic operation is the `cryptography` library's (its Ed25519 and its OpenSSH
serialisation); nothing here is hand-rolled. What treatyflow signs is an event's (or a
registry entry's) hash as text, ``sha256:<64 hex>``: the hash already covers every field, so
the signature binds all of them, and an unsigned event's hash is what it always was.

- A private key file is the OpenSSH format ``ssh-keygen -t ed25519`` writes (unencrypted);
  ``generate`` writes one (mode 0600) and ``FILE.pub`` beside it.
- A public key is the one-line OpenSSH form ``ssh-ed25519 AAAA... [comment]``.
- A fingerprint is OpenSSH's: ``SHA256:`` and the unpadded base64 of the SHA-256 of the
  key's wire-format blob (what ``ssh-keygen -lf`` prints).
- A signature is ``ed25519:`` and the standard base64 of the 64 signature bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from treatyflow.errors import InvalidInput, KeyFileError, ReportExists

SIGNATURE_PREFIX = "ed25519:"
KEY_TYPE = "ssh-ed25519"
#: A key file larger than this is not a key (refused before parsing).
MAX_KEY_FILE = 64 * 1024


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key: its OpenSSH line (without comment) and fingerprint."""

    openssh: str
    fingerprint: str

    def verify(self, signature: str, message: str) -> bool:
        """Whether ``signature`` is this key's signature of ``message``."""
        return verify(self.openssh, signature, message)


class Signer:
    """A private key that signs hashes; ``fingerprint`` names its public key."""

    def __init__(self, private: Ed25519PrivateKey, path: str = "") -> None:
        self._private = private
        self.path = path
        self.public = _public_of(private.public_key())
        self.fingerprint = self.public.fingerprint

    def sign(self, message: str) -> str:
        """The signature of ``message`` (a hash's text), as stored beside the hash."""
        raw = self._private.sign(message.encode("ascii"))
        return SIGNATURE_PREFIX + base64.b64encode(raw).decode("ascii")


def generate(path: Path, *, force: bool = False) -> PublicKey:
    """Write a new Ed25519 private key to ``path`` (owner-only) and its public key to
    ``path.pub``; the public key."""
    pub_path = path.with_name(path.name + ".pub")
    if not force:
        for target in (path, pub_path):
            if target.exists():
                raise ReportExists(str(target))
    private = Ed25519PrivateKey.generate()
    data = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = _public_of(private.public_key())
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        # ~/.treatyflow on a new machine: made owner-only, as ssh-keygen makes ~/.ssh
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o600)
        tmp.replace(path)
        pub_path.write_text(public.openssh + "\n", encoding="ascii")
    except OSError as exc:
        raise KeyFileError(str(path), f"cannot write {path}: {exc.strerror}.") from None
    finally:
        tmp.unlink(missing_ok=True)
    return public


def load_signer(path: str | os.PathLike[str]) -> Signer:
    """The Ed25519 private key in the file at ``path`` (OpenSSH or PKCS#8 PEM)."""
    name = os.fspath(path)
    data = _read(name)
    private: object
    try:
        if b"OPENSSH PRIVATE KEY" in data:
            private = serialization.load_ssh_private_key(data, password=None)
        else:
            private = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise KeyFileError(
            name, f"{name} is protected by a passphrase; use a key without one."
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFileError(name, f"{name} is not a private key treatyflow can read.") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyFileError(name, f"{name} is not an Ed25519 key (ssh-keygen -t ed25519).")
    return Signer(private, name)


def parse_public_key(text: str) -> PublicKey:
    """An OpenSSH public key line (``ssh-ed25519 AAAA... [comment]``), or the path of a file
    holding one (or of a private key, whose public half is taken)."""
    line = text.strip()
    if not line.startswith(KEY_TYPE + " ") and os.path.isfile(line):
        data = _read(line)
        if b"PRIVATE KEY" in data:
            return load_signer(line).public
        line = data.decode("ascii", "replace").strip()
    parts = line.split()
    if len(parts) >= 2 and parts[0] != KEY_TYPE and parts[1].startswith("AAAA"):
        raise InvalidInput(
            "public_key", text, f"the public key is an {parts[0]} key, not an Ed25519 key."
        )
    if len(parts) < 2 or parts[0] != KEY_TYPE:
        raise InvalidInput(
            "public_key", text, "a public key is one line 'ssh-ed25519 AAAA...' or its file."
        )
    try:
        key = serialization.load_ssh_public_key(f"{parts[0]} {parts[1]}".encode("ascii"))
    except (ValueError, UnsupportedAlgorithm, UnicodeEncodeError):
        raise InvalidInput("public_key", text, "the public key is not valid.") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput("public_key", text, "the public key is not an Ed25519 key.")
    return _public_of(key)


def fingerprint(openssh: str) -> str:
    """OpenSSH's SHA256 fingerprint of a public key line."""
    blob = base64.b64decode(openssh.split()[1])
    digest = hashlib.sha256(blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


#: Loaded public keys by their OpenSSH line (a log names few keys; each is parsed once).
_LOADED: dict[str, Ed25519PublicKey] = {}


def verify(openssh: str, signature: str, message: str) -> bool:
    """Whether ``signature`` (``ed25519:...``) by the key ``openssh`` signs ``message``."""
    key = _LOADED.get(openssh)
    if key is None:
        try:
            loaded = serialization.load_ssh_public_key(openssh.encode("ascii"))
        except (ValueError, UnsupportedAlgorithm, UnicodeEncodeError):
            return False
        if not isinstance(loaded, Ed25519PublicKey):
            return False
        key = _LOADED[openssh] = loaded
    if not isinstance(signature, str) or not signature.startswith(SIGNATURE_PREFIX):
        return False
    try:
        raw = base64.b64decode(signature[len(SIGNATURE_PREFIX) :], validate=True)
        key.verify(raw, message.encode("ascii"))
    except (InvalidSignature, binascii.Error, ValueError, UnicodeEncodeError):
        return False
    return True


def _public_of(key: Ed25519PublicKey) -> PublicKey:
    line = key.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode("ascii")
    return PublicKey(line, fingerprint(line))


def _read(name: str) -> bytes:
    """A key file's bytes; only a regular file is read (opened without blocking, so a FIFO
    named as a key cannot hang the command)."""
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise KeyFileError(
                    name, f"{name} is not a regular file (a directory, device, FIFO or socket)."
                )
            data = f.read(MAX_KEY_FILE + 1)
    except OSError as exc:
        raise KeyFileError(name, f"cannot read the key file {name}: {exc.strerror}.") from None
    except ValueError:  # a NUL in the path
        raise KeyFileError(name, f"{name!r} is not a file name.") from None
    if len(data) > MAX_KEY_FILE:
        raise KeyFileError(name, f"{name} is too large to be a key file.")
    return data
