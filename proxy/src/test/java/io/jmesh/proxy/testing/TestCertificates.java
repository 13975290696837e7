package io.jmesh.proxy.testing;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throw-away certificate authority for TLS tests: a self-signed CA and leaf certificates it signs, written
 * as PEM files into a directory (typically a JUnit {@code @TempDir}).
 *
 * <p>Leaves carry the SANs {@code DNS:localhost} and {@code IP:127.0.0.1}, an optional URI SAN (a SPIFFE ID
 * such as {@code spiffe://cluster.local/ns/default/sa/foo}), and both {@code serverAuth} and
 * {@code clientAuth} extended key usages, so one leaf serves as a server or a client certificate. Private keys
 * are PEM PKCS#8 ({@code BEGIN PRIVATE KEY}), which Netty reads without BouncyCastle. Keys are RSA 2048 or EC
 * P-256. Files: {@code ca.pem}, {@code <name>.pem} (the leaf) and {@code <name>-key.pem}.
 *
 * <pre>{@code
 * TestCertificates certs = TestCertificates.create(tempDir, TestCertificates.KeyType.EC);
 * TestCertificates.Issued server = certs.issue("server", null);
 * TestCertificates.Issued client = certs.issue("client", "spiffe://cluster.local/ns/default/sa/client");
 * }</pre>
 */
public final class TestCertificates {

    /** The key algorithm of the CA and of every leaf it issues. */
    public enum KeyType {
        RSA, EC
    }

    /** A leaf certificate: its PEM files and the parsed objects. */
    public record Issued(Path certificateChain, Path privateKey, X509Certificate certificate, PrivateKey key) {
    }

    private static final AtomicLong SERIAL = new AtomicLong(System.nanoTime());

    private final Path dir;
    private final KeyType type;
    private final KeyPair caKeys;
    private final X509Certificate caCertificate;
    private final Path caFile;

    private TestCertificates(Path dir, KeyType type, KeyPair caKeys, X509Certificate caCertificate, Path caFile) {
        this.dir = dir;
        this.type = type;
        this.caKeys = caKeys;
        this.caCertificate = caCertificate;
        this.caFile = caFile;
    }

    /** Creates a CA with EC P-256 keys and writes {@code ca.pem} (and {@code ca-key.pem}) into {@code dir}. */
    public static TestCertificates create(Path dir) {
        return create(dir, KeyType.EC);
    }

    /** Creates a CA with {@code type} keys and writes {@code ca.pem} (and {@code ca-key.pem}) into {@code dir}. */
    public static TestCertificates create(Path dir, KeyType type) {
        try {
            Files.createDirectories(dir);
            KeyPair keys = generate(type);
            X500Name name = new X500Name("CN=jmesh test CA,O=jmesh");
            Instant now = Instant.now();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
                    name, BigInteger.valueOf(SERIAL.incrementAndGet()), Date.from(now.minus(Duration.ofHours(1))),
                    Date.from(now.plus(Duration.ofDays(365))), name, keys.getPublic());
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
            X509Certificate cert = new JcaX509CertificateConverter().getCertificate(b.build(signer(type, keys.getPrivate())));
            Path caFile = dir.resolve("ca.pem");
            Files.writeString(caFile, pem("CERTIFICATE", cert.getEncoded()));
            Files.writeString(dir.resolve("ca-key.pem"), pem("PRIVATE KEY", keys.getPrivate().getEncoded()));
            return new TestCertificates(dir, type, keys, cert, caFile);
        } catch (Exception e) {
            throw new IllegalStateException("cannot create a test CA in " + dir, e);
        }
    }

    /** The CA certificate's PEM file, for {@code validation_context.trusted_ca.filename}. */
    public Path caCertificate() {
        return caFile;
    }

    /** The CA certificate. */
    public X509Certificate caX509() {
        return caCertificate;
    }

    /** The CA certificate as PEM text, for {@code inline_string}. */
    public String caPem() {
        try {
            return Files.readString(caFile);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Issues a leaf for {@code localhost} and {@code 127.0.0.1}, plus the URI SAN {@code uriSan} unless null,
     * and writes {@code <name>.pem} and {@code <name>-key.pem}.
     */
    public Issued issue(String name, String uriSan) {
        return issue(name, uriSan, List.of("localhost"));
    }

    /** Issues a leaf with the given DNS SANs (plus {@code IP:127.0.0.1} and the optional URI SAN). */
    public Issued issue(String name, String uriSan, List<String> dnsNames) {
        try {
            KeyPair keys = generate(type);
            Instant now = Instant.now();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
                    caCertificate, BigInteger.valueOf(SERIAL.incrementAndGet()),
                    Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(30))),
                    new X500Name("CN=" + name + ",O=jmesh"), keys.getPublic());
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            List<GeneralName> sans = new ArrayList<>();
            for (String dns : dnsNames) {
                sans.add(new GeneralName(GeneralName.dNSName, dns));
            }
            sans.add(new GeneralName(GeneralName.iPAddress, "127.0.0.1"));
            if (uriSan != null) {
                sans.add(new GeneralName(GeneralName.uniformResourceIdentifier, uriSan));
            }
            b.addExtension(Extension.subjectAlternativeName, false,
                           new GeneralNames(sans.toArray(new GeneralName[0])));
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true,
                           new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                    new KeyPurposeId[] { KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth }));
            b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(caCertificate));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
            X509Certificate cert = new JcaX509CertificateConverter().getCertificate(
                    b.build(signer(type, caKeys.getPrivate())));
            Path certFile = dir.resolve(name + ".pem");
            Path keyFile = dir.resolve(name + "-key.pem");
            Files.writeString(certFile, pem("CERTIFICATE", cert.getEncoded()));
            Files.writeString(keyFile, pem("PRIVATE KEY", keys.getPrivate().getEncoded()));
            return new Issued(certFile, keyFile, cert, keys.getPrivate());
        } catch (Exception e) {
            throw new IllegalStateException("cannot issue test certificate " + name, e);
        }
    }

    private static KeyPair generate(KeyType type) throws GeneralSecurityException {
        if (type == KeyType.RSA) {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048);
            return g.generateKeyPair();
        }
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    private static ContentSigner signer(KeyType type, PrivateKey key) throws Exception {
        return new JcaContentSignerBuilder(type == KeyType.RSA ? "SHA256withRSA" : "SHA256withECDSA").build(key);
    }

    private static String pem(String label, byte[] der) {
        String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
        return "-----BEGIN " + label + "-----\n" + body + "\n-----END " + label + "-----\n";
    }
}
