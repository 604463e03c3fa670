# The candidate's side of the split code harness: run inside the sandbox as program.py
# after the source of `wire.py` (sandbox.py joins them). It runs candidate.py (the
# model's code) once, says which names it defined, then answers calls until its
# requests end: {"id", "call", "args", "kwargs"} in -> {"id", "value" | "raised",
# "args", "kwargs"} out, one JSON line each, on the descriptors named on its command
# line. It decides nothing: the tests and their expected values are in another process.
import os, sys, traceback

requests = os.fdopen(int(sys.argv[1]), "rb", buffering=0)
replies = os.fdopen(int(sys.argv[2]), "wb", buffering=0)


def send(message):
    replies.write(dumps(message))


def main():
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        with open("candidate.py") as f:
            source = f.read()
        exec(compile(source, "candidate.py", "exec"), namespace)
    except BaseException:
        traceback.print_exc()
        send({"ready": False})
        return
    send({"ready": True, "defined": sorted(k for k, v in namespace.items() if callable(v) and type(k) is str)})
    for line in requests:
        request = json.loads(line)
        reply = {"id": request["id"]}
        try:
            args = decode(request["args"])
            kwargs = decode(request["kwargs"])
            value = namespace[request["call"]](*args, **kwargs)
            reply["value"] = encode(value)
        except BaseException as err:
            reply = {"id": request["id"], "raised": type(err).__name__, "message": str(err)[:1000]}
        try:
            reply["args"], reply["kwargs"] = encode(args), encode(kwargs)  # mutated in place: sent back
        except BaseException:
            reply["args"] = reply["kwargs"] = None
        send(reply)


main()
