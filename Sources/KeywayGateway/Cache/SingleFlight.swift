import KeywayEngine
import KeywayHTTP
import Synchronization

/// Origin fetches in progress, one per cache key: concurrent misses on a
/// key park behind the first one and all get its answer, so the origin
/// sees one request however many clients missed at once.
final class SingleFlight: Sendable {
    /// The parked clients of one fetch, and whether a write to the same
    /// path since it started means its answer must not be stored.
    final class Flight: Sendable {
        let waiters = Mutex<[ParkedResponse]>([])
        let invalidated = Atomic<Bool>(false)
    }

    private let flights = Mutex<[Bytes: Flight]>([:])

    /// Parks `waiter` on the key's fetch. Returns the new flight when the
    /// caller is the first and must start the fetch; nil when it joined one.
    func join(_ key: Bytes, _ waiter: ParkedResponse) -> Flight? {
        flights.withLock { flights in
            if let flight = flights[key] {
                flight.waiters.withLock { $0.append(waiter) }
                return nil
            }
            let flight = Flight()
            flight.waiters.withLock { $0.append(waiter) }
            flights[key] = flight
            return flight
        }
    }

    /// Ends the key's fetch and hands back everyone parked on it. Taken under
    /// the table's lock, so a late joiner starts a new fetch instead.
    func finish(_ key: Bytes, _ flight: Flight) -> [ParkedResponse] {
        flights.withLock { flights in
            if flights[key] === flight { flights[key] = nil }
            return flight.waiters.withLock { waiters in
                defer { waiters = [] }
                return waiters
            }
        }
    }

    /// A write reached the origin: a fetch still running may carry the old
    /// answer, so its result is relayed but not stored.
    func invalidate(_ key: Bytes) {
        flights.withLock { flights in
            flights[key]?.invalidated.store(true, ordering: .relaxed)
        }
    }

    /// Fetches running now.
    var count: Int { flights.withLock { $0.count } }
}
