#!/usr/bin/env python3
"""webdriver.py - drive a real headless Chromium through chromedriver's W3C
WebDriver HTTP API (standard library only).

  webdriver.py DRIVER_URL PROFILE_DIR SHOTS_DIR STEPS_JSON

STEPS_JSON is a list of steps run in one browser session:
  {"go": URL}                                  navigate
  {"wait": JS, "timeout": S, "what": WORDS}    until JS (an expression) is truthy
  {"shot": NAME}                               save SHOTS_DIR/NAME.png
  {"dump": NAME}                               save SHOTS_DIR/NAME.html (the rendered DOM)
  {"run": JS}                                  evaluate JS (no result)
Prints one line per step; exits 1 on the first wait that times out (after a
screenshot and the DOM of the failure), 2 when the browser cannot start."""
import base64, json, os, sys, time, urllib.request

drv, profile, shots, steps = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
factor = float(os.environ.get("HVT_TIMEOUT_FACTOR", "1"))

def call(method, path, body=None, timeout=60):
    req = urllib.request.Request(drv + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout * factor) as r:
        return json.loads(r.read() or b"{}").get("value")

args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1280,900", "--user-data-dir=" + profile]
try:
    sess = call("POST", "/session", {"capabilities": {"alwaysMatch": {
        "browserName": "chrome", "acceptInsecureCerts": True,
        "goog:chromeOptions": {"binary": os.environ.get("CHROMIUM", "/usr/bin/chromium"), "args": args}}}})
except Exception as e:
    print("cannot start chromium through chromedriver: %s" % e)
    sys.exit(2)
sid = sess["sessionId"]
js = lambda src: call("POST", "/session/%s/execute/sync" % sid, {"script": src, "args": []})

def save(name, what):
    os.makedirs(shots, exist_ok=True)
    if what == "shot":
        png = base64.b64decode(call("GET", "/session/%s/screenshot" % sid))
        open(os.path.join(shots, name + ".png"), "wb").write(png)
    else:
        open(os.path.join(shots, name + ".html"), "w").write(js("return document.documentElement.outerHTML"))

rc = 0
try:
    for st in steps:
        if "go" in st:
            call("POST", "/session/%s/url" % sid, {"url": st["go"]})
            print("went to %s" % st["go"].split("#token=")[0])
        elif "run" in st:
            js(st["run"])
        elif "wait" in st:
            t0, limit = time.time(), st.get("timeout", 20) * factor
            while True:
                try:
                    ok = js("return !!(%s)" % st["wait"])
                except Exception:
                    ok = False
                if ok:
                    print("ok after %.2fs: %s" % (time.time() - t0, st.get("what", st["wait"])))
                    break
                if time.time() - t0 > limit:
                    print("timed out after %.0fs waiting until %s" % (limit, st.get("what", st["wait"])))
                    save("failure", "shot"); save("failure", "dump")
                    rc = 1
                    break
                time.sleep(0.2)
            if rc:
                break
        elif "shot" in st:
            save(st["shot"], "shot")
            print("screenshot %s.png" % st["shot"])
        elif "dump" in st:
            save(st["dump"], "dump")
finally:
    try:
        call("DELETE", "/session/%s" % sid, timeout=20)
    except Exception:
        pass
sys.exit(rc)
