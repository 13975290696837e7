package io.jmesh.security.ca;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

/** PEM encoding and decoding of certificates and private keys. Stateless; thread-safe. */
public final class Pem {

    private Pem() {}

    /**
     * Parses every {@code CERTIFICATE} block of {@code pem}, in order; text outside the blocks is ignored.
     *
     * @throws CertificateException if a block is not a valid X.509 certificate
     */
    public static List<X509Certificate> certificates(String pem) throws CertificateException {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        List<X509Certificate> out = new ArrayList<>();
        String begin = "-----BEGIN CERTIFICATE-----";
        String end = "-----END CERTIFICATE-----";
        int from = 0;
        while (true) {
            int b = pem.indexOf(begin, from);
            if (b < 0) {
                return out;
            }
            int e = pem.indexOf(end, b);
            if (e < 0) {
                throw new CertificateException("a CERTIFICATE block has no END line");
            }
            byte[] block = pem.substring(b, e + end.length()).getBytes(StandardCharsets.US_ASCII);
            out.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(block)));
            from = e + end.length();
        }
    }

    /**
     * Parses the first private key of {@code pem}: PKCS#8 ({@code PRIVATE KEY}), or the traditional
     * {@code EC PRIVATE KEY} / {@code RSA PRIVATE KEY}.
     *
     * @throws IOException if there is no unencrypted private key in it
     */
    public static PrivateKey privateKey(String pem) throws IOException {
        try (PEMParser parser = new PEMParser(new StringReader(pem))) {
            JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
            for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
                if (o instanceof PEMKeyPair kp) {
                    return converter.getKeyPair(kp).getPrivate();
                }
                if (o instanceof PrivateKeyInfo info) {
                    return converter.getPrivateKey(info);
                }
            }
        }
        throw new IOException("no unencrypted PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY block");
    }

    /** Encodes {@code cert} as one {@code CERTIFICATE} block ending with a newline. */
    public static String encode(X509Certificate cert) {
        try {
            return block("CERTIFICATE", cert.getEncoded());
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new IllegalArgumentException("certificate cannot be encoded", e);
        }
    }

    /** Encodes {@code certs} as consecutive {@code CERTIFICATE} blocks. */
    public static String encode(List<X509Certificate> certs) {
        StringBuilder sb = new StringBuilder();
        certs.forEach(c -> sb.append(encode(c)));
        return sb.toString();
    }

    /** Encodes {@code key} as PKCS#8 ({@code PRIVATE KEY}), which OpenSSL, Envoy and Netty read. */
    public static String encode(PrivateKey key) {
        return block("PRIVATE KEY", key.getEncoded());
    }

    private static String block(String type, byte[] der) {
        StringWriter w = new StringWriter();
        w.write("-----BEGIN " + type + "-----\n");
        w.write(Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der));
        w.write("\n-----END " + type + "-----\n");
        return w.toString();
    }
}
