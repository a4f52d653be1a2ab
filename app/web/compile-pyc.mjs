// Run by `gridwall app build` with Node.js (never shipped): compiles the app archive's Python
// and the standard library to bytecode with the very Pyodide the phone runs (CPython 3.14 in
// WebAssembly, the same magic number), so a start imports .pyc instead of compiling every
// module from source. Hash-based, unchecked .pyc: deterministic, and valid without mtimes.
//
//   node compile-pyc.mjs PYODIDE_DIR APP_DIR STDLIB_OUT
//
// APP_DIR is mounted where the worker unpacks the archive (/home/pyodide), so the paths in
// the bytecode (tracebacks) are the ones the phone has; __pycache__ folders are written into
// it. STDLIB_OUT gets Pyodide's python_stdlib.zip with a .pyc beside every .py.
import path from "node:path";
import { pathToFileURL } from "node:url";

const [pyodideDir, appDir, stdlibOut] = process.argv.slice(2).map((p) => path.resolve(p));
const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")).href);
const pyodide = await loadPyodide({ indexURL: pyodideDir + "/" });
const FS = pyodide.FS;
FS.mkdirTree("/home/pyodide");
FS.mount(FS.filesystems.NODEFS, { root: appDir }, "/home/pyodide");
FS.mkdirTree("/build-out");
FS.mount(FS.filesystems.NODEFS, { root: path.dirname(stdlibOut) }, "/build-out");
pyodide.globals.set("stdlib_out", "/build-out/" + path.basename(stdlibOut));
await pyodide.runPythonAsync(`
import compileall, importlib.util, io, sys, zipfile
from importlib._bootstrap_external import _code_to_hash_pyc
from py_compile import PycInvalidationMode

ok = compileall.compile_dir("/home/pyodide", quiet=2, workers=1,
                            invalidation_mode=PycInvalidationMode.UNCHECKED_HASH)
if not ok:
    raise SystemExit("compileall failed")

# The standard library: zipimport takes NAME.pyc from beside NAME.py in the zip.
stdlib = next(p for p in sys.path if p.endswith(".zip"))
buf = io.BytesIO()
with zipfile.ZipFile(stdlib) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        data = src.read(info)
        dst.writestr(info, data)
        if info.filename.endswith(".py"):
            code = compile(data, f"{stdlib}/{info.filename}", "exec", dont_inherit=True)
            pyc = _code_to_hash_pyc(code, importlib.util.source_hash(data), checked=False)
            dst.writestr(zipfile.ZipInfo(info.filename + "c", info.date_time), pyc,
                         zipfile.ZIP_DEFLATED)
with open(stdlib_out, "wb") as f:
    f.write(buf.getvalue())
`);
