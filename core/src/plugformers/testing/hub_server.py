"""A small Hub-protocol HTTP server for tests: serves checkpoint folders as Hub repos
on 127.0.0.1 so huggingface_hub's real download and cache code runs against it.

    with HubServer({"org/tiny": {"main": folder, "v1": other_folder}}) as hub:
        os.environ["HF_ENDPOINT"] = hub.url
        AutoModel.from_pretrained("org/tiny", cache_dir=...)

It answers ``HEAD``/``GET /{repo}/resolve/{revision}/{path}`` with the headers
huggingface_hub reads (X-Repo-Commit, ETag, Content-Length, X-Error-Code for missing
repos, revisions and files), honours Range requests, and counts downloads per file.
``GET /api/models/{repo}[/revision/{revision}]`` (repo info with its files and their
sizes) and ``GET /api/models/{repo}/tree/{revision}`` (the file listing) serve
``HfApi.model_info`` and ``snapshot_download``.
``cut_downloads(key, times)`` makes the next ``times`` GETs of one file stop halfway, the
connection closed as by a server that dies mid-transfer.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

__all__ = ["HubServer"]


def _commit(repo: str, revision: str) -> str:
    return hashlib.sha1(f"{repo}@{revision}".encode()).hexdigest()


class HubServer:
    """Serve ``{repo_id: {revision: folder}}`` (or ``{repo_id: folder}`` for "main")."""

    def __init__(self, repos: dict[str, dict[str, str | Path] | str | Path], host: str = "127.0.0.1") -> None:
        self.repos = {
            repo: {rev: Path(f) for rev, f in (revs.items() if isinstance(revs, dict) else {"main": revs}.items())}
            for repo, revs in repos.items()
        }
        self.downloads: Counter[str] = Counter()  # "repo/revision/path" -> full GETs
        self.requests: list[tuple[str, str]] = []
        self.authorizations: list[str | None] = []  # the Authorization header of each request
        self.cuts: Counter[str] = Counter()  # "repo/revision/path" -> GETs still to cut short
        self._host = host
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def cut_downloads(self, key: str, times: int = 1) -> None:
        """Cut the next ``times`` GETs of ``key`` ("repo/revision/path") after half the bytes."""
        self.cuts[key] = times

    def _find(self, repo: str, revision: str) -> tuple[Path, str] | None:
        revisions = self.repos[repo]
        if revision in revisions:
            return revisions[revision], _commit(repo, revision)
        for name, folder in revisions.items():
            if _commit(repo, name) == revision:
                return folder, revision
        return None

    def start(self) -> HubServer:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _error(self, status: int, code: str, message: str) -> None:
                body = f'{{"error": "{message}"}}'.encode()
                self.send_response(status)
                self.send_header("X-Error-Code", code)
                self.send_header("X-Error-Message", message)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command == "GET":
                    self.wfile.write(body)

            def _json(self, value) -> None:
                body = json.dumps(value).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command == "GET":
                    self.wfile.write(body)

            def _api(self, path: str) -> None:
                """Repo info (``/revision/``, or none for main) and the file tree (``/tree/``)."""
                path = path[len("api/models/"):]
                for marker in ("/revision/", "/tree/"):
                    repo, sep, revision = path.partition(marker)
                    if sep:
                        break
                else:
                    repo, marker, revision = path, "/revision/", "main"
                if repo not in hub.repos:
                    return self._error(401, "RepoNotFound", f"Repository not found: {repo}")
                found = hub._find(repo, revision)
                if found is None:
                    return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
                folder, commit = found
                files = sorted(f for f in folder.rglob("*") if f.is_file())
                if marker == "/tree/":
                    return self._json([{"type": "file", "oid": hashlib.sha1(f.read_bytes()).hexdigest(),
                                        "size": f.stat().st_size, "path": f.relative_to(folder).as_posix()}
                                       for f in files])
                siblings = [{"rfilename": f.relative_to(folder).as_posix(), "size": f.stat().st_size}
                            for f in files]
                return self._json({"id": repo, "modelId": repo, "sha": commit, "private": False,
                                   "siblings": siblings})

            def _serve(self) -> None:
                path = unquote(urlparse(self.path).path).lstrip("/")
                hub.requests.append((self.command, path))
                hub.authorizations.append(self.headers.get("Authorization"))
                if path.startswith("api/models/"):
                    return self._api(path)
                repo, sep, rest = path.partition("/resolve/")
                if not sep:
                    return self._error(404, "EntryNotFound", "not a resolve URL")
                if repo.startswith("models/"):
                    repo = repo[len("models/"):]
                if repo not in hub.repos:
                    return self._error(401, "RepoNotFound", f"Repository not found: {repo}")
                revision, _, filename = rest.partition("/")
                found = hub._find(repo, revision)
                if found is None:
                    return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
                folder, commit = found
                file = folder / filename
                if not filename or not file.is_file():
                    return self._error(404, "EntryNotFound", f"{filename} does not exist at {revision}")
                data = file.read_bytes()
                etag = hashlib.sha256(data).hexdigest()
                start, end = 0, len(data)
                status = 200
                header = self.headers.get("Range")
                if header and header.startswith("bytes="):
                    first, _, last = header[len("bytes="):].partition("-")
                    start = int(first or 0)
                    end = int(last) + 1 if last else len(data)
                    status = 206
                self.send_response(status)
                self.send_header("X-Repo-Commit", commit)
                self.send_header("ETag", f'"{etag}"')
                self.send_header("Content-Length", str(end - start))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                if self.command == "GET":
                    key = f"{repo}/{revision}/{filename}"
                    hub.downloads[key] += 1
                    if hub.cuts[key] > 0:
                        hub.cuts[key] -= 1
                        self.wfile.write(data[start:start + (end - start) // 2])
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    self.wfile.write(data[start:end])

            do_GET = _serve
            do_HEAD = _serve

        self._server = ThreadingHTTPServer((self._host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
