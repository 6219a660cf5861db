import Foundation
import SwiftProtobuf
import TemporalProto
import Testing

@testable import TemporalWorker

/// Where an activity attempt's deadline falls on the worker's clock.
@Suite struct ActivityDeadlineTests {
    func task(startedAgo: TimeInterval, serverBehind: TimeInterval, startToClose: Int64, scheduleToClose: Int64)
        -> Temporal_Api_Workflowservice_V1_PollActivityTaskQueueResponse
    {
        var task = Temporal_Api_Workflowservice_V1_PollActivityTaskQueueResponse()
        let serverNow = Date().addingTimeInterval(-serverBehind)
        task.scheduledTime = Google_Protobuf_Timestamp(date: serverNow.addingTimeInterval(-startedAgo - 5))
        task.startedTime = Google_Protobuf_Timestamp(date: serverNow.addingTimeInterval(-startedAgo))
        task.startToCloseTimeout = Google_Protobuf_Duration(seconds: startToClose)
        task.scheduleToCloseTimeout = Google_Protobuf_Duration(seconds: scheduleToClose)
        return task
    }

    /// The server's times are on its clock. A worker clock an hour ahead of it made the deadline
    /// an hour in the past: every attempt was cancelled at once and answered nothing (the
    /// runner leaves a passed deadline to the server's timer), so the activity never ran. The
    /// budget the server gives is counted from the task's arrival instead.
    @Test func aWorkerClockAheadOfTheServersDoesNotCancelAttemptsAtOnce() throws {
        let ahead = ActivityInfo(
            task: task(startedAgo: 0, serverBehind: 3_600, startToClose: 30, scheduleToClose: 600), namespace: "default", taskQueue: "q")
        let left = try #require(ahead.deadline).timeIntervalSinceNow
        #expect(left > 29 && left <= 30, "\(left)")
        // The schedule-to-close timeout binds when less of it is left than start-to-close: 20 s
        // from scheduling, 5 s of which went before the start.
        let closer = ActivityInfo(
            task: task(startedAgo: 0, serverBehind: 3_600, startToClose: 30, scheduleToClose: 20), namespace: "default", taskQueue: "q")
        let closerLeft = try #require(closer.deadline).timeIntervalSinceNow
        #expect(closerLeft > 14 && closerLeft <= 15, "\(closerLeft)")
        // A clock behind the server's no longer moves the deadline past the server's timeout.
        let behind = ActivityInfo(
            task: task(startedAgo: 0, serverBehind: -3_600, startToClose: 30, scheduleToClose: 600), namespace: "default", taskQueue: "q")
        let behindLeft = try #require(behind.deadline).timeIntervalSinceNow
        #expect(behindLeft > 29 && behindLeft <= 30, "\(behindLeft)")
    }
}
