#!/usr/bin/env python3
"""A fake GitHub REST API for the wf tests (Python 3 standard library only).

It serves the pull-request endpoints wf-pr uses, on 127.0.0.1, over a real
bare git repository: branches are the bare repository's refs, diffs are
computed with git, and a merge really merges (git merge-tree, commit-tree,
update-ref) into the base branch of the bare repository.

Usage:
  fake-forge.py --git-dir BARE.git --owner OWNER --repo REPO --token TOKEN
                --port-file PORTFILE --log REQUESTS.jsonl [--user LOGIN]
                [--allow-self-review] [--page-size N]

Endpoints (all under /repos/OWNER/REPO, JSON shaped as GitHub's):
  GET    /repos/O/R
  GET    /pulls?state=&head=OWNER:BRANCH&base=&per_page=&page=   (Link paging)
  POST   /pulls                         {title, head, base, body, draft}
  GET    /pulls/N                       Accept: application/vnd.github.diff
                                        gives the diff (git diff base...head)
  GET    /pulls/N/files
  GET    /pulls/N/merge                 204 merged, 404 not
  PUT    /pulls/N/merge                 {merge_method, sha, commit_title, commit_message}
  GET    /pulls/N/reviews, POST /pulls/N/reviews {event, body, comments, commit_id}
  GET    /issues/N/comments, POST /issues/N/comments {body}
  DELETE /git/refs/heads/BRANCH

GitHub's rules that matter to a client are kept: a second open PR for the
same head is refused (422), so is a PR with no commits, an author cannot
APPROVE or REQUEST_CHANGES their own PR (422; --allow-self-review lifts
that), inline review comments must be on a line of the diff (422), a merge
with a stale sha is refused (409) and a conflicting one too (405).
--page-size N caps per_page, so that a client must follow the Link headers.

Control (no auth): GET /_fake/state (PRs, comments, reviews), GET
/_fake/requests (the log), POST /_fake/fault {method, path (a regex),
status, body, times (default 1, -1 forever), delay_before, delay_after
(seconds: act, then wait before answering), touch (a file to create once
the request has acted), close (drop the connection after acting)},
DELETE /_fake/fault.
"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

LOCK = threading.Lock()
S = {
    "pulls": {},        # number -> dict
    "comments": {},     # number -> [dict]
    "reviews": {},      # number -> [dict]
    "next_number": 1,
    "next_id": 1000,
    "faults": [],
    "n": 0,
}
ARGS = None
BASE_URL = ""


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def git(*args, check=True, input=None, env=None):
    e = dict(os.environ)
    e.update({"GIT_AUTHOR_NAME": "Fake Forge", "GIT_AUTHOR_EMAIL": "forge@example.invalid",
              "GIT_COMMITTER_NAME": "Fake Forge", "GIT_COMMITTER_EMAIL": "forge@example.invalid",
              "LC_ALL": "C"})
    if env:
        e.update(env)
    p = subprocess.run(["git", "--git-dir", ARGS.git_dir] + list(args), capture_output=True,
                       text=True, input=input, env=e)
    if check and p.returncode != 0:
        raise RuntimeError("git %s: %s" % (" ".join(args), p.stderr.strip()))
    return p


REFS = None  # branch -> sha, read once per request (git costs a process start)


def refs_changed():
    global REFS
    REFS = None


def ref_sha(branch):
    global REFS
    if REFS is None:
        out = git("for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/").stdout
        REFS = {}
        for line in out.splitlines():
            sha, _, ref = line.partition(" ")
            REFS[ref[len("refs/heads/"):]] = sha
    return REFS.get(branch)


def next_id():
    S["next_id"] += 1
    return S["next_id"]


def user():
    return {"login": ARGS.user, "id": 1, "type": "User"}


def pr_json(pr, full=True):
    head_sha = pr["merged_head_sha"] if pr["merged"] else (ref_sha(pr["head"]) or pr["head_sha"])
    base_sha = pr["merged_base_sha"] if pr["merged"] else (ref_sha(pr["base"]) or pr["base_sha"])
    n = pr["number"]
    o = {
        "url": "%s/repos/%s/%s/pulls/%d" % (BASE_URL, ARGS.owner, ARGS.repo, n),
        "id": pr["id"],
        "html_url": "%s/%s/%s/pull/%d" % (BASE_URL, ARGS.owner, ARGS.repo, n),
        "diff_url": "%s/%s/%s/pull/%d.diff" % (BASE_URL, ARGS.owner, ARGS.repo, n),
        "number": n,
        "state": pr["state"],
        "locked": False,
        "title": pr["title"],
        "user": user(),
        "body": pr["body"],
        "created_at": pr["created_at"],
        "updated_at": pr["updated_at"],
        "closed_at": pr["closed_at"],
        "merged_at": pr["merged_at"],
        "merge_commit_sha": pr["merge_commit_sha"],
        "draft": pr["draft"],
        "head": {"label": "%s:%s" % (ARGS.owner, pr["head"]), "ref": pr["head"], "sha": head_sha,
                 "user": user(), "repo": {"full_name": "%s/%s" % (ARGS.owner, ARGS.repo)}},
        "base": {"label": "%s:%s" % (ARGS.owner, pr["base"]), "ref": pr["base"], "sha": base_sha,
                 "user": user(), "repo": {"full_name": "%s/%s" % (ARGS.owner, ARGS.repo)}},
    }
    if full:
        o["merged"] = pr["merged"]
        o["mergeable"] = None if pr["state"] != "open" else mergeable(pr)
        o["merged_by"] = user() if pr["merged"] else None
        o["comments"] = len(S["comments"].get(n, []))
        o["commits"] = commit_count(pr)
    return o


def mergeable(pr):
    b, h = ref_sha(pr["base"]), ref_sha(pr["head"])
    if not b or not h:
        return False
    p = git("merge-tree", "--write-tree", b, h, check=False)
    return p.returncode == 0


def commit_count(pr):
    if pr["merged"]:
        return pr.get("merged_commits", 0)
    b, h = ref_sha(pr["base"]), ref_sha(pr["head"])
    if not b or not h:
        return 0
    return int(git("rev-list", "--count", "%s..%s" % (b, h)).stdout.strip() or 0)


def pr_diff(pr):
    if pr["merged"]:
        b, h = pr["merged_base_sha"], pr["merged_head_sha"]
    else:
        b, h = ref_sha(pr["base"]), ref_sha(pr["head"])
    if not b or not h:
        return ""
    return git("diff", "%s...%s" % (b, h)).stdout


def diff_lines(diff):
    """{path: set of new-side line numbers a review comment may be on}."""
    out, path, new = {}, None, 0
    for line in diff.split("\n"):
        if line.startswith("+++ "):
            path = line[6:] if line.startswith("+++ b/") else None
            if path is not None:
                out.setdefault(path, set())
            continue
        m = re.match(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@", line)
        if m:
            new = int(m.group(1))
            continue
        if path is None or line.startswith("diff ") or line.startswith("--- ") or line.startswith("index "):
            continue
        if line.startswith("+") or line.startswith(" "):
            out[path].add(new)
            new += 1
    return out


def do_merge(pr, method, title, message):
    base, head = ref_sha(pr["base"]), ref_sha(pr["head"])
    if not base or not head:
        return None, "Base or head branch is missing"
    commits = git("rev-list", "--reverse", "--no-merges", "%s..%s" % (base, head)).stdout.split()
    if method in ("merge", "squash"):
        p = git("merge-tree", "--write-tree", base, head, check=False)
        if p.returncode != 0:
            return None, "Pull Request is not mergeable"
        tree = p.stdout.split("\n")[0].strip()
        if method == "merge":
            msg = "%s\n\n%s" % (title or "Merge pull request #%d from %s/%s" % (pr["number"], ARGS.owner, pr["head"]),
                                message if message is not None else pr["title"])
            new = git("commit-tree", tree, "-p", base, "-p", head, input=msg).stdout.strip()
        else:
            msg = "%s\n\n%s" % (title or "%s (#%d)" % (pr["title"], pr["number"]), message or "")
            new = git("commit-tree", tree, "-p", base, input=msg).stdout.strip()
    else:
        cur = base
        for c in commits:
            # git 2.39 has no merge-tree --merge-base: the merge base of the
            # rebased tip and the commit gives the same tree for a clean replay.
            p = git("merge-tree", "--write-tree", cur, c, check=False)
            if p.returncode != 0:
                return None, "Pull Request is not mergeable"
            tree = p.stdout.split("\n")[0].strip()
            info = git("log", "-1", "--format=%an%x00%ae%x00%ad%x00%B", c).stdout
            an, ae, ad, body = info.split("\x00", 3)
            cur = git("commit-tree", tree, "-p", cur, input=body,
                      env={"GIT_AUTHOR_NAME": an, "GIT_AUTHOR_EMAIL": ae, "GIT_AUTHOR_DATE": ad}).stdout.strip()
        new = cur
    git("update-ref", "refs/heads/" + pr["base"], new, base)
    refs_changed()
    pr.update(merged=True, state="closed", merged_at=now(), closed_at=now(), merge_commit_sha=new,
              merged_head_sha=head, merged_base_sha=base, merged_commits=len(commits), updated_at=now())
    return new, None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeForge/1.0"
    disable_nagle_algorithm = True

    def log_message(self, fmt, *a):
        pass

    def send(self, status, obj=None, text=None, headers=None, ctype="application/json; charset=utf-8"):
        body = b""
        if obj is not None:
            body = json.dumps(obj).encode()
        elif text is not None:
            body = text.encode()
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-GitHub-Request-Id", "FAKE:%d" % S["n"])
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if status != 204:
            self.wfile.write(body)
        self.wfile.flush()

    def read_json(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def handle_any(self, method):
        url = urlsplit(self.path)
        path, query = url.path, parse_qs(url.query)
        body = self.read_json() if method in ("POST", "PUT", "PATCH") else None
        with LOCK:
            S["n"] += 1
            entry = {"n": S["n"], "method": method, "path": path, "query": url.query,
                     "accept": self.headers.get("Accept"),
                     "api_version": self.headers.get("X-GitHub-Api-Version"),
                     "auth": self.headers.get("Authorization"), "body": body}
            with open(ARGS.log, "a") as f:
                f.write(json.dumps(entry) + "\n")
        if path.startswith("/_fake/"):
            return self.control(method, path, body)
        fault = None
        with LOCK:
            for r in S["faults"]:
                if r.get("method", method) == method and re.search(r.get("path", ""), path) and r["times"] != 0:
                    if r["times"] > 0:
                        r["times"] -= 1
                    fault = dict(r)
                    break
        if fault and fault.get("delay_before"):
            time.sleep(fault["delay_before"])
        if fault and fault.get("status"):
            return self.send(fault["status"], fault.get("body", {"message": "fault injected"}),
                             headers=fault.get("headers"))
        auth = self.headers.get("Authorization") or ""
        if auth not in ("Bearer " + ARGS.token, "token " + ARGS.token):
            return self.send(401, {"message": "Bad credentials",
                                   "documentation_url": "https://docs.github.com/rest"})
        with LOCK:
            refs_changed()
            status, obj, text, headers, ctype = self.route(method, path, query, body)
        if fault and fault.get("touch"):
            open(fault["touch"], "a").close()
        if fault and fault.get("delay_after"):
            time.sleep(fault["delay_after"])
        if fault and fault.get("close"):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if ctype:
            return self.send(status, obj, text, headers, ctype)
        return self.send(status, obj, text, headers)

    def control(self, method, path, body):
        if path == "/_fake/state" and method == "GET":
            with LOCK:
                refs_changed()
                out = {"pulls": [dict(p, **{"head_sha_now": ref_sha(p["head"])}) for p in S["pulls"].values()],
                       "comments": S["comments"], "reviews": S["reviews"]}
            return self.send(200, out)
        if path == "/_fake/requests" and method == "GET":
            with open(ARGS.log) as f:
                return self.send(200, [json.loads(l) for l in f if l.strip()])
        if path == "/_fake/fault" and method == "POST":
            r = dict(body or {})
            r.setdefault("times", 1)
            with LOCK:
                S["faults"].append(r)
            return self.send(201, r)
        if path == "/_fake/fault" and method == "DELETE":
            with LOCK:
                S["faults"] = []
            return self.send(204)
        return self.send(404, {"message": "Not Found"})

    def paged(self, items, query, path):
        per = min(int((query.get("per_page") or ["30"])[0]), 100, ARGS.page_size)
        page = max(int((query.get("page") or ["1"])[0]), 1)
        chunk = items[(page - 1) * per: page * per]
        headers = {}
        last = max((len(items) + per - 1) // per, 1)
        if page < last:
            q = {k: v[0] for k, v in query.items() if k != "page"}
            qs = "&".join("%s=%s" % (k, v) for k, v in q.items())
            link = '<%s%s?%s&page=%d>; rel="next", <%s%s?%s&page=%d>; rel="last"' % (
                BASE_URL, path, qs, page + 1, BASE_URL, path, qs, last)
            headers["Link"] = link
        return 200, chunk, None, headers, None

    def route(self, method, path, query, body):
        prefix = "/repos/%s/%s" % (ARGS.owner, ARGS.repo)
        nf = (404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, None, None, None)
        if not (path == prefix or path.startswith(prefix + "/")):
            return nf
        rest = path[len(prefix):]
        if rest == "" and method == "GET":
            return 200, {"full_name": "%s/%s" % (ARGS.owner, ARGS.repo), "default_branch": "main",
                         "owner": user(), "name": ARGS.repo}, None, None, None
        if body is None and method in ("POST", "PUT"):
            return 400, {"message": "Problems parsing JSON"}, None, None, None
        m = re.fullmatch(r"/pulls", rest)
        if m and method == "GET":
            state = (query.get("state") or ["open"])[0]
            head = (query.get("head") or [None])[0]
            base = (query.get("base") or [None])[0]
            items = []
            for n in sorted(S["pulls"], reverse=True):
                p = S["pulls"][n]
                if state != "all" and p["state"] != state:
                    continue
                if head is not None:
                    owner, _, br = head.partition(":")
                    if not br or owner != ARGS.owner or br != p["head"]:
                        continue
                if base is not None and p["base"] != base:
                    continue
                items.append(pr_json(p, full=False))
            return self.paged(items, query, path)
        if m and method == "POST":
            return self.create_pull(body)
        m = re.fullmatch(r"/pulls/(\d+)(/.*)?", rest)
        if m:
            n, sub = int(m.group(1)), m.group(2) or ""
            pr = S["pulls"].get(n)
            if pr is None:
                return nf
            return self.pull_route(method, pr, sub, query, body, path)
        m = re.fullmatch(r"/issues/(\d+)/comments", rest)
        if m:
            n = int(m.group(1))
            if n not in S["pulls"]:
                return nf
            if method == "GET":
                return self.paged(S["comments"].get(n, []), query, path)
            if method == "POST":
                text = body.get("body")
                if not isinstance(text, str) or not text:
                    return 422, {"message": "Validation Failed",
                                 "errors": [{"resource": "IssueComment", "field": "body", "code": "missing_field"}]}, None, None, None
                cid = next_id()
                c = {"id": cid, "body": text, "user": user(), "created_at": now(), "updated_at": now(),
                     "html_url": "%s/%s/%s/pull/%d#issuecomment-%d" % (BASE_URL, ARGS.owner, ARGS.repo, n, cid)}
                S["comments"].setdefault(n, []).append(c)
                return 201, c, None, None, None
        m = re.fullmatch(r"/git/refs/heads/(.+)", rest)
        if m and method == "DELETE":
            br = unquote(m.group(1))
            if not ref_sha(br):
                return 422, {"message": "Reference does not exist"}, None, None, None
            git("update-ref", "-d", "refs/heads/" + br)
            refs_changed()
            return 204, None, None, None, None
        return nf

    def create_pull(self, body):
        title, head, base = body.get("title"), body.get("head"), body.get("base")
        if not title or not head or not base:
            return 422, {"message": "Validation Failed",
                         "errors": [{"resource": "PullRequest", "field": f, "code": "missing_field"}
                                    for f in ("title", "head", "base") if not body.get(f)]}, None, None, None
        if ":" in head:
            owner, _, head = head.partition(":")
        if not ref_sha(head):
            return 422, {"message": "Validation Failed",
                         "errors": [{"resource": "PullRequest", "field": "head", "code": "invalid"}]}, None, None, None
        if not ref_sha(base):
            return 422, {"message": "Validation Failed",
                         "errors": [{"resource": "PullRequest", "field": "base", "code": "invalid"}]}, None, None, None
        for p in S["pulls"].values():
            if p["head"] == head and p["state"] == "open":
                return 422, {"message": "Validation Failed",
                             "errors": [{"resource": "PullRequest", "code": "custom",
                                         "message": "A pull request already exists for %s:%s." % (ARGS.owner, head)}]}, None, None, None
        if int(git("rev-list", "--count", "%s..%s" % (ref_sha(base), ref_sha(head))).stdout.strip()) == 0:
            return 422, {"message": "Validation Failed",
                         "errors": [{"resource": "PullRequest", "code": "custom",
                                     "message": "No commits between %s and %s" % (base, head)}]}, None, None, None
        n = S["next_number"]
        S["next_number"] += 1
        pr = {"number": n, "id": next_id(), "title": title, "body": body.get("body") or "", "head": head,
              "base": base, "state": "open", "draft": bool(body.get("draft")), "merged": False,
              "merged_at": None, "closed_at": None, "merge_commit_sha": None, "created_at": now(),
              "updated_at": now(), "head_sha": ref_sha(head), "base_sha": ref_sha(base)}
        S["pulls"][n] = pr
        return 201, pr_json(pr), None, None, None

    def pull_route(self, method, pr, sub, query, body, path):
        n = pr["number"]
        accept = self.headers.get("Accept") or ""
        if sub == "" and method == "GET":
            if "diff" in accept:
                return 200, None, pr_diff(pr), None, "text/plain; charset=utf-8"
            return 200, pr_json(pr), None, None, None
        if sub == "/files" and method == "GET":
            d = diff_lines(pr_diff(pr))
            return self.paged([{"filename": f, "status": "modified"} for f in sorted(d)], query, path)
        if sub == "/merge" and method == "GET":
            return (204, None, None, None, None) if pr["merged"] else (404, {"message": "Not Found"}, None, None, None)
        if sub == "/merge" and method == "PUT":
            if pr["merged"] or pr["state"] != "open":
                return 405, {"message": "Pull Request is not mergeable"}, None, None, None
            method_ = body.get("merge_method") or "merge"
            if method_ not in ("merge", "squash", "rebase"):
                return 422, {"message": "Validation Failed",
                             "errors": [{"field": "merge_method", "code": "invalid"}]}, None, None, None
            if body.get("sha") and body["sha"] != ref_sha(pr["head"]):
                return 409, {"message": "Head branch was modified. Review and try the merge again."}, None, None, None
            sha, why = do_merge(pr, method_, body.get("commit_title"), body.get("commit_message"))
            if not sha:
                return 405, {"message": why}, None, None, None
            return 200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}, None, None, None
        if sub == "/reviews" and method == "GET":
            return self.paged(S["reviews"].get(n, []), query, path)
        if sub == "/reviews" and method == "POST":
            event = body.get("event")
            text = body.get("body") or ""
            if event not in ("APPROVE", "REQUEST_CHANGES", "COMMENT"):
                return 422, {"message": "Unprocessable Entity", "errors": ["Event is invalid"]}, None, None, None
            if pr["state"] != "open":
                return 422, {"message": "Unprocessable Entity",
                             "errors": ["Can not review a closed pull request"]}, None, None, None
            if not ARGS.allow_self_review and event == "APPROVE":
                return 422, {"message": "Unprocessable Entity",
                             "errors": ["Review Can not approve your own pull request"]}, None, None, None
            if not ARGS.allow_self_review and event == "REQUEST_CHANGES":
                return 422, {"message": "Unprocessable Entity",
                             "errors": ["Review Can not request changes on your own pull request"]}, None, None, None
            if event in ("REQUEST_CHANGES", "COMMENT") and not text:
                return 422, {"message": "Unprocessable Entity",
                             "errors": ["Body is required for this event"]}, None, None, None
            lines = diff_lines(pr_diff(pr))
            for c in body.get("comments") or []:
                if c.get("path") not in lines:
                    return 422, {"message": "Unprocessable Entity",
                                 "errors": ["Path could not be resolved"]}, None, None, None
                if c.get("line") not in lines[c["path"]]:
                    return 422, {"message": "Unprocessable Entity",
                                 "errors": ["Pull request review thread line must be part of the diff"]}, None, None, None
            rid = next_id()
            state = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}[event]
            r = {"id": rid, "user": user(), "body": text, "state": state,
                 "commit_id": body.get("commit_id") or ref_sha(pr["head"]), "submitted_at": now(),
                 "html_url": "%s/%s/%s/pull/%d#pullrequestreview-%d" % (BASE_URL, ARGS.owner, ARGS.repo, n, rid),
                 "comments": body.get("comments") or []}
            S["reviews"].setdefault(n, []).append(r)
            return 200, r, None, None, None
        return 404, {"message": "Not Found"}, None, None, None

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def do_PATCH(self):
        self.handle_any("PATCH")


def main():
    global ARGS, BASE_URL
    ap = argparse.ArgumentParser()
    ap.add_argument("--git-dir", required=True)
    ap.add_argument("--owner", default="acme")
    ap.add_argument("--repo", default="widgets")
    ap.add_argument("--token", required=True)
    ap.add_argument("--user", default="wf-bot")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--allow-self-review", action="store_true")
    ap.add_argument("--page-size", type=int, default=100)
    ARGS = ap.parse_args()
    ARGS.git_dir = os.path.abspath(ARGS.git_dir)
    open(ARGS.log, "a").close()
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    srv.daemon_threads = True
    port = srv.server_address[1]
    BASE_URL = "http://127.0.0.1:%d" % port
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, ARGS.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
