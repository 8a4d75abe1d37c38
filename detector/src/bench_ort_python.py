# ONNX Runtime's own throughput through its Python API, for `streetwatch
# bench-detector`: `threads` sessions of `intra` intra-op threads each, each on its own
# Python thread (ONNX Runtime releases the GIL inside run), looping run() on the same
# prepared tensor the Rust side measured with. Prints "fps <value>".
import sys, threading, time
import numpy as np
import onnxruntime as ort

model, input_name, tensor_path, size, threads, intra, secs = sys.argv[1:8]
size, threads, intra, secs = int(size), int(threads), int(intra), float(secs)
x = np.fromfile(tensor_path, dtype=np.float32).reshape(1, 3, size, size)
opts = ort.SessionOptions()
opts.intra_op_num_threads = intra
sessions = [ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"]) for _ in range(threads)]
for s in sessions:
    s.run(None, {input_name: x})
runs = [0] * threads
stop = threading.Event()
start = threading.Barrier(threads + 1)

def loop(i):
    start.wait()
    while not stop.is_set():
        sessions[i].run(None, {input_name: x})
        runs[i] += 1

workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
for w in workers:
    w.start()
start.wait()
began = time.monotonic()
time.sleep(secs)
counted = sum(runs)
elapsed = time.monotonic() - began
stop.set()
for w in workers:
    w.join()
print(f"fps {counted / elapsed}")
