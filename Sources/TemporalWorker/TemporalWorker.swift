// TemporalWorker: a pure-Swift Temporal worker.
//
// Layout:
//   Worker/                  polling, slots, the sticky run cache, workflow-task handling, shutdown
//   Workflow/                the programming model (Workflow, WorkflowContext, options, errors)
//   Workflow/Runtime/        the deterministic executor and WorkflowRun (history → activations → commands)
//   Workflow/StateMachines/  one small machine per command kind (activity, timer, patch marker, signal-external)
//   Activity/                ActivityDefinition, ActivityContext, heartbeats, task execution
//   Replay/                  WorkflowReplayer (determinism checks of recorded histories)
//
// Versioning: `WorkflowContext.patched(_:)` records sdk-core style "core_patch" markers
// (details["patch_data"] = json {"id", "deprecated"}).
