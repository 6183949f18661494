import KeywayEngine
import Foundation
import KeywayHTTP

/// Reading resource-API request bodies: JSON objects with typed fields, or
/// raw bytes, with 400/415 problems for anything else.
struct RequestBody {
    enum Kind { case json(JSONValue), raw([UInt8]), empty }

    /// Classifies the body by Content-Type: `application/octet-stream` is raw
    /// bytes; JSON (or no Content-Type, or curl's default form type) is parsed.
    static func read(_ request: HTTPRequest, allowRaw: Bool) -> Result<Kind, HTTPResponse> {
        let type = request.contentType
        if allowRaw && type == "application/octet-stream" {
            return .success(.raw(request.body))
        }
        if request.body.isEmpty { return .success(.empty) }
        if !readsAsJSON(type) {
            return .failure(Problem.response(415, code: "UNSUPPORTED_MEDIA_TYPE",
                                             detail: "send application/json" + (allowRaw ? " or application/octet-stream" : "")))
        }
        do {
            let value = try JSONParser.parse(request.body)
            guard case .object = value else { return .failure(Problem.badRequest("the body must be a JSON object")) }
            return .success(.json(value))
        } catch {
            return .failure(Problem.badRequest("malformed JSON: \(error)"))
        }
    }

    /// Whether a body of this media type is read as JSON: JSON, no
    /// Content-Type, or curl -d's default form type.
    static func readsAsJSON(_ type: String?) -> Bool {
        guard let type else { return true }
        return type == "application/json" || type.hasSuffix("+json") || type == "application/x-www-form-urlencoded"
    }
}

extension RequestBody {
    /// A value sent either as a JSON body `{"<field>": "...", "encoding": "base64"?}`
    /// or as a raw `application/octet-stream` body, with the other fields
    /// (from the JSON, or the query string for a raw body).
    static func value(_ request: HTTPRequest, field: String = "value") -> Result<(value: [UInt8], fields: Fields), HTTPResponse> {
        // The common body, `{"value":"..."}`, without a JSONValue tree: it
        // has no other fields (and a JSON body leaves the query's unread).
        if readsAsJSON(request.contentType), let value = ValueBodyReader.value(named: field, in: request.body) {
            return .success((value, Fields(json: .object([]), request: request)))
        }
        switch read(request, allowRaw: true) {
        case .failure(let problem):
            return .failure(problem)
        case .success(.empty):
            return .failure(Problem.badRequest("a \(field) is required: a JSON body {\"\(field)\": ...} or an application/octet-stream body"))
        case .success(.raw(let bytes)):
            return .success((bytes, Fields(json: nil, request: request)))
        case .success(.json(let object)):
            let fields = Fields(json: object, request: request)
            do throws(FieldError) {
                guard let text = try fields.string(field) else { throw FieldError("'\(field)' (a string) is required") }
                return .success((try ValueEncoding.decode(text, encoding: fields.string("encoding")), fields))
            } catch {
                return .failure(Problem.badRequest(error.message))
            }
        }
    }
}

/// Typed access to the fields of a JSON object body or of query parameters.
struct Fields {
    let json: JSONValue?
    let request: HTTPRequest

    /// A number field (from JSON, or a query parameter of the same name).
    func number(_ name: String) throws(FieldError) -> String? {
        if let value = json?[name] {
            switch value {
            case .null: return nil
            case .number(let text): return text
            default: throw FieldError("'\(name)' must be a number")
            }
        }
        if json == nil, let text = request.queryString(name) {
            guard Double(text) != nil else { throw FieldError("'\(name)' must be a number") }
            return text
        }
        return nil
    }

    func bool(_ name: String) throws(FieldError) -> Bool {
        if let value = json?[name] {
            switch value {
            case .null: return false
            case .bool(let flag): return flag
            default: throw FieldError("'\(name)' must be true or false")
            }
        }
        if json == nil, let text = request.queryString(name) {
            switch text.lowercased() {
            case "", "true", "1", "yes": return true
            case "false", "0", "no": return false
            default: throw FieldError("'\(name)' must be true or false")
            }
        }
        return false
    }

    func string(_ name: String) throws(FieldError) -> String? {
        guard let value = json?[name] else {
            return json == nil ? request.queryString(name) : nil
        }
        switch value {
        case .null: return nil
        case .string(let text): return text
        default: throw FieldError("'\(name)' must be a string")
        }
    }
}

struct FieldError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

