// Runs the official Databricks JavaScript SDK the way an unmodified user program would: the
// WorkspaceClient is configured from the environment only (DATABRICKS_HOST plus DATABRICKS_TOKEN,
// or DATABRICKS_METADATA_SERVICE_URL with DATABRICKS_AUTH_TYPE=metadata-service, ...).
//
// usage: node sdk_client.mjs [--jobs] [--timeout=SECONDS]
//   calls currentUser.me(), counts clusters.list(), and with --jobs also counts jobs.list().
//   --timeout (default 60): give up with an error line; the SDK retries 429s for 300 s.
// stdout: exactly one JSON line
//   {"ok":true,"me":"<userName>","clusters":<n>[,"jobs":<n>]}                         exit 0
//   {"ok":false,"step":"config|me|clusters|jobs","status":<http status|null>,"error":"..."}  exit 1
// The SDK's own logging stays on stderr. The script exits explicitly: the SDK leaves a keep-alive
// socket open after a 404 from the metadata service, which would keep node running.
import sdk from "@databricks/sdk-experimental";

const {WorkspaceClient} = sdk;

let step = "config";
const result = {ok: true};

// stdout is synchronous for files and pipes on Linux, so exiting right after the write is safe.
function finish(value, code) {
    process.stdout.write(`${JSON.stringify(value)}\n`);
    process.exit(code);
}

const timeoutArg = process.argv.find((a) => a.startsWith("--timeout="));
const timeoutSeconds = Number(timeoutArg?.slice("--timeout=".length) ?? 60);
if (!(timeoutSeconds > 0)) {
    finish({ok: false, step, status: null, error: `bad ${timeoutArg}`}, 1);
}
setTimeout(() => {
    finish({ok: false, step, status: null, error: `timed out after ${timeoutSeconds} s`}, 1);
}, timeoutSeconds * 1000).unref();

async function count(iterable) {
    let n = 0;
    for await (const _ of iterable) {
        n++;
    }
    return n;
}

// ApiError carries statusCode; HttpError (transport level) carries a numeric code.
function httpStatus(error) {
    if (Number.isInteger(error?.statusCode)) return error.statusCode;
    if (Number.isInteger(error?.code)) return error.code;
    return null;
}

try {
    const client = new WorkspaceClient({});
    step = "me";
    result.me = (await client.currentUser.me()).userName;
    step = "clusters";
    result.clusters = await count(client.clusters.list({}));
    if (process.argv.includes("--jobs")) {
        step = "jobs";
        result.jobs = await count(client.jobs.list({}));
    }
    finish(result, 0);
} catch (error) {
    finish({ok: false, step, status: httpStatus(error), error: String(error?.message ?? error)}, 1);
}
