package io.jmesh.proxy.router;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption.HeaderAppendAction;
import io.jmesh.proxy.config.ConfigException;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;

/**
 * One level's {@code *_headers_to_add} and {@code *_headers_to_remove}, as Envoy's
 * {@code HeaderParser}: removals first, then additions in order, each with its append action.
 * Values are literal; Envoy's {@code %COMMAND%} operators are rejected except the {@code %%}
 * escape. Immutable.
 */
final class HeaderMutations {

    static final HeaderMutations EMPTY = new HeaderMutations(new AsciiString[0], new Add[0]);

    private static final class Add {
        final AsciiString name;
        final String value;
        final HeaderAppendAction action;

        Add(AsciiString name, String value, HeaderAppendAction action) {
            this.name = name;
            this.value = value;
            this.action = action;
        }
    }

    private final AsciiString[] remove;
    private final Add[] add;

    private HeaderMutations(AsciiString[] remove, Add[] add) {
        this.remove = remove;
        this.add = add;
    }

    boolean isEmpty() {
        return remove.length == 0 && add.length == 0;
    }

    @SuppressWarnings("deprecation") // legacy fields Envoy still honours
    static HeaderMutations from(List<HeaderValueOption> toAdd, List<String> toRemove, String addPath,
                                String removePath) throws ConfigException {
        if (toAdd.isEmpty() && toRemove.isEmpty()) {
            return EMPTY;
        }
        final AsciiString[] remove = new AsciiString[toRemove.size()];
        for (int i = 0; i < remove.length; i++) {
            remove[i] = AsciiString.of(checkName(toRemove.get(i), removePath + '[' + i + ']'));
        }
        final List<Add> adds = new ArrayList<>(toAdd.size());
        for (int i = 0; i < toAdd.size(); i++) {
            final HeaderValueOption o = toAdd.get(i);
            final String p = addPath + '[' + i + ']';
            if (!o.hasHeader()) {
                throw new ConfigException(p + ".header: null (expected: a header)");
            }
            final String name = checkName(o.getHeader().getKey(), p + ".header.key");
            final String value = literal(o.getHeader().getValue().isEmpty() && !o.getHeader().getRawValue().isEmpty()
                                         ? o.getHeader().getRawValue().toStringUtf8()
                                         : o.getHeader().getValue(), p + ".header.value");
            HeaderAppendAction action = o.getAppendAction();
            if (o.hasAppend()) {
                if (action != HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD) {
                    throw new ConfigException(p + ".append: " + o.getAppend().getValue()
                                              + " (expected: not set together with append_action)");
                }
                action = o.getAppend().getValue() ? HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD
                                                  : HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD;
            }
            if (action == HeaderAppendAction.UNRECOGNIZED) {
                throw new ConfigException(p + ".append_action: " + o.getAppendActionValue()
                                          + " (expected: a HeaderAppendAction)");
            }
            if (value.isEmpty() && !o.getKeepEmptyValue()) {
                continue; // Envoy drops empty values unless keep_empty_value is set.
            }
            adds.add(new Add(AsciiString.of(name), value, action));
        }
        return new HeaderMutations(remove, adds.toArray(new Add[0]));
    }

    private static String checkName(String name, String path) throws ConfigException {
        final String n = name.toLowerCase(Locale.ROOT);
        if (n.isEmpty() || n.charAt(0) == ':' || "host".equals(n)) {
            throw new ConfigException(path + ": \"" + name
                                      + "\" (expected: a header name other than host or a :pseudo-header)");
        }
        if (!io.jmesh.proxy.internal.HttpFields.isToken(n, true)) {
            throw new ConfigException(path + ": \"" + io.jmesh.proxy.internal.HttpFields.printable(name)
                                      + "\" (expected: a valid header name, an RFC 9110 token)");
        }
        return n;
    }

    private static String literal(String value, String path) throws ConfigException {
        if (value.indexOf('%') < 0 && value.indexOf('\r') < 0 && value.indexOf('\n') < 0
            && value.indexOf('\0') < 0) {
            return value;
        }
        final StringBuilder b = new StringBuilder(value.length());
        for (int i = 0; i < value.length(); i++) {
            final char c = value.charAt(i);
            if (c == '\r' || c == '\n' || c == '\0') {
                throw new ConfigException(path + ": " + value.replace("\r", "\\r").replace("\n", "\\n")
                                          + " (expected: no CR, LF or NUL)");
            }
            if (c == '%') {
                if (i + 1 < value.length() && value.charAt(i + 1) == '%') {
                    b.append('%');
                    i++;
                    continue;
                }
                throw new ConfigException(path + ": " + value
                                          + " (expected: a literal value; only the %% escape is supported)");
            }
            b.append(c);
        }
        return b.toString();
    }

    void apply(HttpHeaders headers) {
        for (AsciiString name : remove) {
            headers.remove(name);
        }
        for (Add a : add) {
            switch (a.action) {
                case ADD_IF_ABSENT:
                    if (!headers.contains(a.name)) {
                        headers.add(a.name, a.value);
                    }
                    break;
                case OVERWRITE_IF_EXISTS_OR_ADD:
                    headers.set(a.name, a.value);
                    break;
                case OVERWRITE_IF_EXISTS:
                    if (headers.contains(a.name)) {
                        headers.set(a.name, a.value);
                    }
                    break;
                default:
                    headers.add(a.name, a.value);
            }
        }
    }
}
