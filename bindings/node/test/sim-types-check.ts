// Compile-only check of sim.d.ts (run with the rest by types.test.mjs, tsc --noEmit).
import { Simulator } from '../index.js';
import type { FaultRule, LoadReport, MaintenanceOutcome, ScenarioReport, SimCallInfo } from '../index.js';

export function simTypes(): void {
  const sim = new Simulator({ bind_b: '127.0.0.1:0', agents: [{ agent_id: '1001', extension: '5001', skill_groups: [10] }] });
  const portB: number | null = sim.sidePort('B');
  const id: number = sim.offerCall({ ani: '1', dnis: '2', talkMs: 100 });
  sim.answerCall(id);
  const calls: SimCallInfo[] = sim.calls();
  const rule: FaultRule = { request: 'HOLD_CALL_REQ', times: 1, action: 'failure_conf', status: 'E_CTI_INVALID_CALLID' };
  sim.addFault(rule);
  sim.addFault({ request: '*', action: 'delay', delay_ms: 100, side: 'B' });
  sim.killSide('A');
  const port: number = sim.restartSide('A');
  const out: MaintenanceOutcome = sim.maintenance('B');
  const report: ScenarioReport = sim.runScenario({ steps: [{ at_ms: 0, op: 'hangup', call: id }] });
  const load: LoadReport = sim.runLoad({ agents: 10, callsPerSecond: 5, calls: 5 });
  sim.setAnswerHeartbeats(false, 'A');
  sim.sendFailureEvent('E_CTI_CTI_SERVER_OFFLINE', 'B');
  void [portB, calls, port, out.accepted, report.errors, load.completed];
  sim.stop();
}
