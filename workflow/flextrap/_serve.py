# The candidate's side of the split code harness: run inside the sandbox as program.py
# after the source of `wire.py` (sandbox.py joins them). It runs candidate.py (the
# model's code) once and says what it defined (functions; standard-library modules and
# plain values the tests may read; exception classes with their nearest builtin base),
# then answers calls until its requests end: {"id", "call", "args", "kwargs"} in ->
# {"id", "value" | "raised" + "base" + "message", "args", "kwargs"} out, one JSON line
# each, on the descriptors named on its command line. It decides nothing: the tests and
# their expected values are in another process.
import builtins, os, sys, traceback, types

requests = os.fdopen(int(sys.argv[1]), "rb")
replies = os.fdopen(int(sys.argv[2]), "wb", buffering=0)


def send(message):
    replies.write(dumps(message))


def builtin_base(cls):
    return next(c.__name__ for c in cls.__mro__ if getattr(builtins, c.__name__, None) is c)


def described(namespace):
    """What the tests' side is told about the program's globals."""
    hello = {"ready": True, "defined": [], "modules": {}, "values": {}, "exceptions": {}}
    for name, value in list(namespace.items())[:5000]:
        if type(name) is not str or name.startswith("__"):
            continue
        if isinstance(value, types.ModuleType):
            hello["modules"][name] = value.__name__
        elif isinstance(value, type) and issubclass(value, BaseException):
            hello["exceptions"][name] = builtin_base(value)
        elif callable(value):
            hello["defined"].append(name)
        else:
            try:
                hello["values"][name] = encode(value)
            except Exception:
                pass
    return hello


def answer(namespace, request):
    reply = {"id": request["id"]}
    args, kwargs = [], {}
    try:
        args, kwargs = decode(request["args"]), decode(request["kwargs"])
        value = namespace[request["call"]](*args, **kwargs)
        reply["value"] = encode(value)
    except BaseException as err:
        try:
            message = str(err)[:1000]
        except BaseException:
            message = ""
        reply = {"id": request["id"], "raised": type(err).__name__, "base": builtin_base(type(err)),
                 "message": message}
    try:
        reply["args"], reply["kwargs"] = encode(args), encode(kwargs)  # mutated in place: sent back
    except BaseException:
        reply["args"] = reply["kwargs"] = None
    return reply


def main():
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        with open("candidate.py") as f:
            source = f.read()
        exec(compile(source, "candidate.py", "exec"), namespace)
        hello = described(namespace)
    except BaseException:
        traceback.print_exc()
        send({"ready": False})
        return
    send(hello)
    for line in requests:
        send(answer(namespace, json.loads(line)))


main()
