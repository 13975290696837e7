package io.jmesh.proxy.filter.grpcjson;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;

import io.jmesh.proxy.filter.FilterDataStatus;
import io.jmesh.proxy.filter.FilterHeadersStatus;
import io.jmesh.proxy.filter.FilterTrailersStatus;
import io.jmesh.proxy.filter.HttpFilter;
import io.jmesh.proxy.filter.StreamDecoderFilterCallbacks;
import io.jmesh.proxy.filter.StreamEncoderFilterCallbacks;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;

/**
 * The transcoder of one stream, as Envoy's {@code JsonTranscoderFilter}, for unary and server-streaming calls (the
 * whole response is buffered). A request whose method and path match a binding is sent as
 * {@code POST /pkg.Service/Method} with {@code content-type: application/grpc}: its message is built from the JSON
 * body (all of it for {@code body: "*"}, one field for {@code body: "field"}), the path variables and the query
 * parameters (other fields); a body that is not JSON for the message, or a query parameter naming no field (unless
 * ignored), is answered 400. The original path goes upstream in {@code x-envoy-original-path}; the route is chosen
 * again on the new path unless {@code match_incoming_request_route}. The gRPC response comes back as
 * {@code application/json} (an array, or newline-delimited, for several messages); a non-zero {@code grpc-status}
 * becomes its HTTP status (NOT_FOUND 404, INVALID_ARGUMENT 400, ...) with an empty body; {@code grpc-status} and
 * {@code grpc-message} are copied into the response headers. Requests that match nothing, and gRPC requests,
 * pass untouched (or get 404 with {@code reject_unknown_method}).
 */
final class GrpcJsonTranscoderFilter implements HttpFilter {

    /** Request bodies larger than this are refused with 413. */
    static final int MAX_REQUEST_BODY = 4 * 1024 * 1024;
    private static final String DETAILS = "grpc_json_transcode_failure";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final TranscoderConfig config;
    private StreamDecoderFilterCallbacks decoder;
    private StreamEncoderFilterCallbacks encoder;
    private TranscoderConfig.Binding binding;
    private Map<String, String> variables;
    private Map<String, List<String>> query;
    private HttpRequest request;
    private CompositeByteBuf body;
    private boolean finished;
    private boolean transcodeResponse;
    private HttpResponse responseHeaders;

    GrpcJsonTranscoderFilter(TranscoderConfig config) {
        this.config = config;
    }

    @Override
    public void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks callbacks) {
        this.decoder = callbacks;
    }

    @Override
    public void setEncoderFilterCallbacks(StreamEncoderFilterCallbacks callbacks) {
        this.encoder = callbacks;
    }

    @Override
    public FilterHeadersStatus decodeHeaders(HttpRequest req, boolean endStream) {
        String ct = req.headers().get(HttpHeaderNames.CONTENT_TYPE);
        if (ct != null && ct.startsWith("application/grpc")) {
            return FilterHeadersStatus.CONTINUE;
        }
        QueryStringDecoder q = new QueryStringDecoder(req.uri());
        for (TranscoderConfig.Binding b : config.bindings) {
            if (!b.httpMethod().equals(req.method().name())) {
                continue;
            }
            Map<String, String> vars = b.template().match(q.rawPath());
            if (vars != null) {
                binding = b;
                variables = vars;
                query = q.parameters();
                break;
            }
        }
        if (binding == null) {
            if (config.rejectUnknownMethod) {
                decoder.sendLocalReply(404, "Could not resolve " + q.rawPath() + " to a method.", DETAILS);
                return FilterHeadersStatus.STOP_ITERATION;
            }
            return FilterHeadersStatus.CONTINUE;
        }
        request = req;
        if (endStream) {
            ByteBuf framed = finish(null);
            if (framed == null) {
                return FilterHeadersStatus.STOP_ITERATION;
            }
            decoder.addDecodedData(framed);
            return FilterHeadersStatus.CONTINUE;
        }
        return FilterHeadersStatus.STOP_ITERATION;
    }

    @Override
    public FilterDataStatus decodeData(ByteBuf data, boolean endStream) {
        if (binding == null || finished) {
            return FilterDataStatus.CONTINUE;
        }
        if (body == null) {
            body = data.alloc().compositeBuffer(Integer.MAX_VALUE);
        }
        if (!endStream) {
            body.addComponent(true, data); // owned from here: the headers stay held until the body is complete
            if (body.readableBytes() > MAX_REQUEST_BODY) {
                release();
                finished = true;
                decoder.sendLocalReply(413, "Payload Too Large", DETAILS);
            }
            return FilterDataStatus.STOP_ITERATION_NO_BUFFER;
        }
        // The last piece: its bytes join the body; the piece goes on empty, after the gRPC request added here.
        body.addComponent(true, data.readRetainedSlice(data.readableBytes()));
        if (body.readableBytes() > MAX_REQUEST_BODY) {
            release();
            finished = true;
            decoder.sendLocalReply(413, "Payload Too Large", DETAILS);
            return FilterDataStatus.CONTINUE;
        }
        ByteBuf framed = finish(body);
        if (framed == null) {
            return FilterDataStatus.CONTINUE;
        }
        decoder.addDecodedData(framed);
        return FilterDataStatus.CONTINUE;
    }

    @Override
    public FilterTrailersStatus decodeTrailers(HttpHeaders trailers) {
        if (binding == null || finished) {
            return FilterTrailersStatus.CONTINUE;
        }
        ByteBuf framed = finish(body);
        if (framed != null) {
            decoder.addDecodedData(framed);
        }
        return FilterTrailersStatus.CONTINUE;
    }

    /** Builds the gRPC request (rewriting the held headers); null after answering 400. Releases {@code json}. */
    private ByteBuf finish(ByteBuf json) {
        finished = true;
        Descriptor type = binding.method().getInputType();
        DynamicMessage message;
        try {
            String text = json == null ? "" : json.toString(StandardCharsets.UTF_8);
            ObjectNode tree = JSON.createObjectNode();
            if (!binding.body().isEmpty() && !text.isBlank()) {
                JsonNode parsed = JSON.readTree(text);
                if (binding.body().equals("*")) {
                    if (!parsed.isObject()) {
                        throw new IllegalArgumentException("Expected a JSON object for " + type.getFullName());
                    }
                    tree = (ObjectNode) parsed;
                } else {
                    tree.set(binding.body(), parsed);
                }
            }
            for (Map.Entry<String, String> v : variables.entrySet()) {
                set(tree, type, v.getKey(), QueryStringDecoder.decodeComponent(v.getValue()), false);
            }
            if (!binding.body().equals("*")) {
                for (Map.Entry<String, List<String>> p : query.entrySet()) {
                    if (config.ignoredQueryParameters.contains(p.getKey())) {
                        continue;
                    }
                    for (String value : p.getValue()) {
                        set(tree, type, p.getKey(), value, config.ignoreUnknownQueryParameters);
                    }
                }
            }
            DynamicMessage.Builder b = DynamicMessage.newBuilder(type);
            config.parser.merge(tree.toString(), b);
            message = b.build();
        } catch (InvalidProtocolBufferException | JsonProcessingException | IllegalArgumentException
                 | IllegalStateException e) {
            release();
            decoder.sendLocalReply(400, e.getMessage() == null ? "Bad request" : e.getMessage(), DETAILS);
            return null;
        } finally {
            if (json != null && json == body) {
                release();
            }
        }
        HttpHeaders h = request.headers();
        h.set("x-envoy-original-path", request.uri());
        request.setMethod(HttpMethod.POST);
        request.setUri("/" + binding.method().getService().getFullName() + "/" + binding.method().getName());
        h.set(HttpHeaderNames.CONTENT_TYPE, "application/grpc");
        h.set(HttpHeaderNames.TE, "trailers");
        h.remove(HttpHeaderNames.CONTENT_LENGTH);
        if (!config.matchIncomingRequestRoute) {
            decoder.clearRouteCache();
        }
        byte[] bytes = message.toByteArray();
        return ByteBufAllocator.DEFAULT.buffer(5 + bytes.length).writeByte(0).writeInt(bytes.length).writeBytes(bytes);
    }

    /** Sets field path {@code path} (dotted) of {@code type} in {@code tree} to {@code value}. */
    private static void set(ObjectNode tree, Descriptor type, String path, String value, boolean ignoreUnknown) {
        String[] parts = path.split("\\.");
        ObjectNode at = tree;
        Descriptor t = type;
        for (int i = 0; i < parts.length; i++) {
            FieldDescriptor f = t.findFieldByName(parts[i]);
            if (f == null) {
                for (FieldDescriptor c : t.getFields()) {
                    if (c.getJsonName().equals(parts[i])) {
                        f = c;
                    }
                }
            }
            if (f == null) {
                if (ignoreUnknown) {
                    return;
                }
                throw new IllegalArgumentException("Could not find field \"" + parts[i] + "\" in the type \""
                        + t.getFullName() + "\".");
            }
            String key = f.getName();
            if (i == parts.length - 1) {
                JsonNode v = f.getType() == FieldDescriptor.Type.BOOL
                        ? JSON.getNodeFactory().booleanNode(Boolean.parseBoolean(value))
                        : JSON.getNodeFactory().textNode(value);
                if (f.isRepeated()) {
                    JsonNode old = at.get(key);
                    ArrayNode arr = old != null && old.isArray() ? (ArrayNode) old : JSON.createArrayNode();
                    arr.add(v);
                    at.set(key, arr);
                } else {
                    at.set(key, v);
                }
                return;
            }
            if (f.getJavaType() != FieldDescriptor.JavaType.MESSAGE || f.isRepeated()) {
                throw new IllegalArgumentException("Field \"" + parts[i] + "\" of \"" + t.getFullName()
                        + "\" is not a message.");
            }
            JsonNode next = at.get(key);
            if (next == null || !next.isObject()) {
                next = JSON.createObjectNode();
                at.set(key, next);
            }
            at = (ObjectNode) next;
            t = f.getMessageType();
        }
    }

    private void release() {
        if (body != null) {
            body.release();
            body = null;
        }
    }

    @Override
    public FilterHeadersStatus encodeHeaders(HttpResponse response, boolean endStream) {
        if (binding == null || !finished) {
            return FilterHeadersStatus.CONTINUE;
        }
        HttpHeaders h = response.headers();
        String ct = h.get(HttpHeaderNames.CONTENT_TYPE);
        if (ct == null || !ct.startsWith("application/grpc")) {
            return FilterHeadersStatus.CONTINUE; // not a gRPC answer (a proxy error page): as it is
        }
        h.set(HttpHeaderNames.CONTENT_TYPE, "application/json");
        if (endStream) {
            // Trailers-only.
            response.setStatus(HttpResponseStatus.valueOf(httpStatus(h.get("grpc-status"))));
            h.set(HttpHeaderNames.CONTENT_LENGTH, 0);
            return FilterHeadersStatus.CONTINUE;
        }
        transcodeResponse = true;
        responseHeaders = response;
        return FilterHeadersStatus.STOP_ITERATION;
    }

    @Override
    public FilterDataStatus encodeData(ByteBuf data, boolean endStream) {
        if (!transcodeResponse) {
            return FilterDataStatus.CONTINUE;
        }
        if (!endStream) {
            return FilterDataStatus.STOP_ITERATION_AND_BUFFER;
        }
        // Ended without trailers: not valid gRPC.
        data.skipBytes(data.readableBytes());
        drainHeld();
        responseHeaders.setStatus(HttpResponseStatus.BAD_GATEWAY);
        responseHeaders.headers().set(HttpHeaderNames.CONTENT_LENGTH, 0);
        return FilterDataStatus.CONTINUE;
    }

    private void drainHeld() {
        ByteBuf held = encoder.encodingBuffer();
        if (held != null) {
            held.skipBytes(held.readableBytes());
        }
    }

    @Override
    public FilterTrailersStatus encodeTrailers(HttpHeaders trailers) {
        if (!transcodeResponse) {
            return FilterTrailersStatus.CONTINUE;
        }
        String status = trailers.get("grpc-status");
        HttpHeaders h = responseHeaders.headers();
        if (status != null) {
            h.set("grpc-status", status);
        }
        if (trailers.contains("grpc-message")) {
            h.set("grpc-message", trailers.get("grpc-message"));
        }
        int http = httpStatus(status);
        ByteBuf held = encoder.encodingBuffer();
        ByteBuf out = null;
        if (http == 200) {
            try {
                out = toJson(held);
            } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
                http = 502;
                h.set("grpc-message", "Failed to transcode the response: " + e.getMessage());
            }
        }
        drainHeld();
        responseHeaders.setStatus(HttpResponseStatus.valueOf(http));
        h.set(HttpHeaderNames.CONTENT_LENGTH, out == null ? 0 : out.readableBytes());
        if (out != null) {
            encoder.addEncodedData(out);
        }
        trailers.clear();
        return FilterTrailersStatus.CONTINUE;
    }

    /** The messages of the held gRPC body as JSON: one object, or several as an array (or newline-delimited). */
    private ByteBuf toJson(ByteBuf grpc) throws InvalidProtocolBufferException {
        Descriptor type = binding.method().getOutputType();
        StringBuilder sb = new StringBuilder();
        int count = 0;
        boolean streaming = binding.method().isServerStreaming();
        if (grpc != null) {
            int i = grpc.readerIndex();
            while (grpc.writerIndex() - i >= 5) {
                byte flag = grpc.getByte(i);
                int len = grpc.getInt(i + 1);
                if (flag != 0) {
                    throw new IllegalArgumentException("compressed gRPC message");
                }
                if (len < 0 || grpc.writerIndex() - i - 5 < len) {
                    throw new IllegalArgumentException("truncated gRPC message");
                }
                byte[] msg = new byte[len];
                grpc.getBytes(i + 5, msg);
                i += 5 + len;
                String json = config.printer.print(DynamicMessage.parseFrom(type, msg));
                if (streaming && config.streamNewlineDelimited) {
                    sb.append(json).append('\n');
                } else {
                    sb.append(count > 0 ? "," : "").append(json);
                }
                count++;
            }
        }
        String text = streaming && !config.streamNewlineDelimited ? "[" + sb + "]"
                : count == 0 ? "{}" : sb.toString();
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        return ByteBufAllocator.DEFAULT.buffer(bytes.length).writeBytes(bytes);
    }

    /** Envoy's {@code Grpc::Utility::grpcToHttpStatus}; a missing or unknown status is 500. */
    static int httpStatus(String grpcStatus) {
        if (grpcStatus == null) {
            return 500;
        }
        switch (grpcStatus.trim()) {
            case "0": return 200;
            case "1": return 499;
            case "2": return 500;
            case "3": return 400;
            case "4": return 504;
            case "5": return 404;
            case "6": return 409;
            case "7": return 403;
            case "8": return 429;
            case "9": return 400;
            case "10": return 409;
            case "11": return 400;
            case "12": return 501;
            case "13": return 500;
            case "14": return 503;
            case "15": return 500;
            case "16": return 401;
            default: return 500;
        }
    }

    @Override
    public void onDestroy() {
        release();
    }
}
