package io.jmesh.it.rpc;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.BufferedReader;
import java.io.InputStreamReader;

import org.apache.dubbo.config.ApplicationConfig;
import org.apache.dubbo.config.ProtocolConfig;
import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.config.RegistryConfig;
import org.apache.dubbo.config.ServiceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;
import org.apache.dubbo.rpc.model.FrameworkModel;

import com.alipay.sofa.rpc.config.ConsumerConfig;
import com.alipay.sofa.rpc.config.ProviderConfig;
import com.alipay.sofa.rpc.config.ServerConfig;

/**
 * Unchanged SOFARPC and Dubbo applications for the transparent capture test, run as a child JVM in a network namespace
 * ({@link ChildJvm} with {@code ip netns exec}): nothing in them knows about a mesh.
 *
 * <ul>
 *   <li>{@code provider <application>}: a SOFARPC provider of {@link HelloService} on {@code 0.0.0.0:12200}
 *       (answers {@code "<application> <name> x<times>"}) and a Dubbo provider of {@link GreetingService} 1.0.0 on
 *       {@code 0.0.0.0:20880} (answers {@code "<application> <name>"}), registered nowhere; prints
 *       {@link ChildJvm#READY}.</li>
 *   <li>{@code consumer <host>}: a SOFARPC consumer of {@code bolt://<host>:12200} and a Dubbo consumer of
 *       {@code dubbo://<host>:20880} (direct URLs: the provider's service address, as without a mesh); prints
 *       {@link ChildJvm#READY}, then for each line {@code bolt <name>} or {@code dubbo <name>} of its standard input
 *       makes one call and prints {@link ChildJvm#REPLY} followed by {@code ok <answer>} or
 *       {@code error <exception>}.</li>
 * </ul>
 */
public final class CapturedRpcApps {

    static final int BOLT_PORT = 12200;
    static final int DUBBO_PORT = 20880;

    private CapturedRpcApps() {}

    public static void main(String[] args) throws Exception {
        if (args[0].equals("provider")) {
            provider(args[1]);
        } else {
            consumer(args[1]);
        }
    }

    private static void provider(String application) throws Exception {
        final ServerConfig server = new ServerConfig().setProtocol("bolt").setHost("0.0.0.0").setBoundHost("0.0.0.0")
                .setPort(BOLT_PORT).setDaemon(false);
        new ProviderConfig<HelloService>()
                .setApplication(new com.alipay.sofa.rpc.config.ApplicationConfig().setAppName(application))
                .setInterfaceId(HelloService.class.getName())
                .setRef((name, times) -> application + ' ' + name + " x" + times)
                .setServer(server)
                .setRegister(false)
                .export();

        final ServiceConfig<GreetingService> service = new ServiceConfig<>();
        service.setInterface(GreetingService.class);
        service.setRef(name -> application + ' ' + name);
        service.setVersion("1.0.0");
        final ProtocolConfig protocol = new ProtocolConfig("dubbo", DUBBO_PORT);
        protocol.setHost("0.0.0.0");
        final ApplicationConfig app = new ApplicationConfig(application);
        app.setQosEnable(false);
        DubboBootstrap.newInstance(new FrameworkModel()).application(app).registry(new RegistryConfig("N/A"))
                .protocol(protocol).service(service).start();
        System.out.println(ChildJvm.READY);
        System.out.flush();
        Thread.currentThread().join();
    }

    private static void consumer(String host) throws Exception {
        final HelloService hello = new ConsumerConfig<HelloService>()
                .setInterfaceId(HelloService.class.getName())
                .setProtocol("bolt")
                .setDirectUrl("bolt://" + host + ":" + BOLT_PORT)
                .setRegister(false)
                .setSubscribe(false)
                .setTimeout(5000)
                .refer();

        final ReferenceConfig<GreetingService> reference = new ReferenceConfig<>();
        reference.setInterface(GreetingService.class);
        reference.setVersion("1.0.0");
        reference.setUrl("dubbo://" + host + ":" + DUBBO_PORT);
        reference.setTimeout(5000);
        reference.setRetries(0);
        reference.setCheck(false);
        final ApplicationConfig app = new ApplicationConfig("captured-consumer");
        app.setQosEnable(false);
        DubboBootstrap.newInstance(new FrameworkModel()).application(app).registry(new RegistryConfig("N/A"))
                .reference(reference).start();
        final GreetingService greeting = reference.get();

        System.out.println(ChildJvm.READY);
        System.out.flush();
        final BufferedReader in = new BufferedReader(new InputStreamReader(System.in, UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            final String[] cmd = line.split(" ", 2);
            String reply;
            try {
                reply = "ok " + (cmd[0].equals("bolt") ? hello.sayHello(cmd[1], 1) : greeting.greet(cmd[1]));
            } catch (RuntimeException e) {
                reply = "error " + e.toString().replace('\n', ' ');
            }
            System.out.println(ChildJvm.REPLY + reply);
            System.out.flush();
        }
        System.exit(0);
    }
}
