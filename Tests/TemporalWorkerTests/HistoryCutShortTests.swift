import Temporal
import TemporalProto
import Testing

@testable import TemporalWorker

/// A history that ends before the task's WorkflowTaskStarted (a page loop cut short, a proxy
/// that truncates) is refused, as Go refuses a "premature end of stream", instead of answered
/// from what it holds.
@Suite struct HistoryCutShortTests {
    typealias TwoActivities = WorkflowOptionsHonouredTests.TwoActivities

    private func refusal(_ run: WorkflowRun, _ events: [HistoryEvent], live: Int64) -> HistoryError? {
        do {
            let commands = try run.process(events: events, liveStartedEventID: live)
            Issue.record("answered with \(commands.map(\.commandType)) from a history that ends at event \(events.last?.eventID ?? 0)")
            return nil
        } catch let error as HistoryError {
            return error
        } catch {
            Issue.record("unexpected \(error)")
            return nil
        }
    }

    /// Without its WorkflowTaskStarted the first task would be answered with no command at all.
    @Test func aFirstTaskWithoutItsStartedEventIsRefused() throws {
        var history = HistoryBuilder()
        history.started(TwoActivities.name)
        history.add(.workflowTaskScheduled) { $0.workflowTaskScheduledEventAttributes = .init() }
        let error = refusal(makeRun(TwoActivities.self), history.events, live: 3)
        #expect(error?.staleCache == true && error?.message.contains("event 3") == true, "\(String(describing: error))")
    }

    /// Cut after the first of two ActivityTaskScheduled events of a replayed task: the second
    /// activity would be scheduled again as a new command.
    @Test func aHistoryCutInsideAReplayedTaskSendsNoCommandAgain() throws {
        var history = HistoryBuilder()
        history.started(TwoActivities.name)
        history.workflowTask()
        history.activityScheduled(id: "1", type: "a")
        let error = refusal(makeRun(TwoActivities.self), history.events, live: 9)
        #expect(error?.staleCache == true, "\(String(describing: error))")
    }

    /// A fresh run given a history without its start (a full fetch that came back short) is
    /// refused: it replayed without WorkflowExecutionStarted and answered the live task with no
    /// command, and the workflow stalled.
    @Test func aFreshRunWithoutItsStartIsRefused() throws {
        var history = HistoryBuilder()
        history.started(TwoActivities.name)
        history.workflowTask()
        let error = refusal(makeRun(TwoActivities.self), Array(history.events.dropFirst()), live: 3)
        #expect(error?.message.contains("does not start with WorkflowExecutionStarted") == true, "\(String(describing: error))")
    }
}
