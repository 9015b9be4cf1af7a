from jqm_localcluster.kubelet.status import ContainerRecord, phase, pod_status


def rec(name: str = "c", *, done: bool = False, code: int | None = None, ran: bool = False) -> ContainerRecord:
    r = ContainerRecord(name, "img")
    if ran:
        r.running("id")
    if code is not None:
        r.terminated(code)
        r.done = done
    return r


def test_phase_rules() -> None:
    assert phase([], [rec()]) == "Pending"
    assert phase([rec("i")], [rec(ran=True)]) == "Pending"  # init not done yet
    assert phase([rec("i", ran=True, code=1, done=True)], [rec()]) == "Failed"
    assert phase([rec("i", ran=True, code=0, done=True)], [rec(ran=True)]) == "Running"
    assert phase([], [rec(ran=True, code=0, done=True), rec("b", ran=True, code=0, done=True)]) == "Succeeded"
    assert phase([], [rec(ran=True, code=0, done=True), rec("b", ran=True, code=2, done=True)]) == "Failed"
    restarting = rec(ran=True, code=1)
    restarting.waiting("CrashLoopBackOff")
    assert phase([], [restarting]) == "Running"


def test_restart_keeps_last_state_and_count() -> None:
    r = rec(ran=True, code=3)
    r.restart_count += 1
    r.waiting("CrashLoopBackOff", "back-off 10s")
    r.running("id2")
    api = r.to_api()
    assert api["restartCount"] == 1
    assert api["lastState"]["terminated"]["exitCode"] == 3
    assert "running" in api["state"]


def test_pod_status_fields_and_condition_transition_times() -> None:
    ready = rec(ran=True)
    ready.ready = ready.started = True
    old = {
        "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": "T0"}],
        "qosClass": "Burstable",
    }
    status = pod_status(
        old, host_ip="10.244.0.1", pod_ip="10.244.0.9", start_time="T1", network_ready=True, init=[], main=[ready]
    )
    conditions = {c["type"]: c for c in status["conditions"]}
    assert status["phase"] == "Running"
    assert status["podIPs"] == [{"ip": "10.244.0.9"}]
    assert status["hostIP"] == "10.244.0.1"
    assert status["qosClass"] == "Burstable"
    assert conditions["PodScheduled"]["lastTransitionTime"] == "T0"
    assert all(c["status"] == "True" for c in conditions.values())
    assert status["containerStatuses"][0]["ready"] is True


def test_resumed_after_kubelet_restart_counts_a_restart() -> None:
    running = {"restartCount": 2, "state": {"running": {}}, "lastState": {}}
    r = ContainerRecord.resumed("c", "img", running)
    assert r.restart_count == 3
    assert r.last_state["terminated"]["reason"] == "Unknown"
    waiting = {"restartCount": 1, "state": {"waiting": {}}, "lastState": {"terminated": {"exitCode": 1}}}
    assert ContainerRecord.resumed("c", "img", waiting).restart_count == 1
    assert ContainerRecord.resumed("c", "img", None).restart_count == 0
