package jqmnode.compat;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;

import com.enioka.jqm.client.api.Deliverable;
import com.enioka.jqm.client.api.JobInstance;
import com.enioka.jqm.client.api.JqmClient;
import com.enioka.jqm.client.api.JqmClientException;
import com.enioka.jqm.client.api.JqmException;
import com.enioka.jqm.client.api.JqmWsClientFactory;
import com.enioka.jqm.client.api.Queue;
import com.enioka.jqm.client.api.State;

/**
 * Drives a jqm-node with the official Jersey client, logged in with HTTP Basic as upstream's client
 * does (com.enioka.jqm.ws.login / password): enqueue, getJob, getJobs past the first 50 jobs, query,
 * messages, deliverables, stdout, kill, queues, the bulk calls (JSON lists: jersey-media-json-jackson
 * must be on the classpath), an unknown ID; then checks that a wrong password ends in a clean client
 * exception (an HTTP 401 wrapped in a JqmException), not a hang or a parsing error.
 * Usage: Scenario NODE_URL LOGIN PASSWORD (e.g. http://127.0.0.1:1789 admin secret).
 * The node must define the job definitions "Echo" (writes stdout and a deliverable), "Sleep" and
 * "Parked" (on a disabled queue named PARKED: its jobs wait).
 * Exits 0 when every step succeeded, 1 (with the failed step on stderr) otherwise.
 */
public final class Scenario
{
    private Scenario()
    {}

    private static void check(boolean condition, String what)
    {
        if (!condition)
        {
            throw new IllegalStateException("check failed: " + what);
        }
    }

    private static JobInstance waitFor(JqmClient client, long id, State... states) throws InterruptedException
    {
        for (int i = 0; i < 1000; i++) // bounded: 1000 x 20 ms
        {
            JobInstance job = client.getJob(id);
            for (State s : states)
            {
                if (job.getState() == s)
                {
                    return job;
                }
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException("job " + id + " never reached " + List.of(states));
    }

    private static Properties properties(String url, String login, String password)
    {
        Properties p = new Properties();
        p.setProperty("com.enioka.jqm.ws.url", url + "/ws/client");
        p.setProperty("com.enioka.jqm.ws.login", login);
        p.setProperty("com.enioka.jqm.ws.password", password);
        return p;
    }

    private static String causes(Throwable e)
    {
        StringBuilder text = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause())
        {
            text.append(t.getClass().getSimpleName()).append(": ").append(t.getMessage()).append(" / ");
        }
        return text.toString();
    }

    public static void main(String[] args) throws Exception
    {
        if (args.length != 3)
        {
            System.err.println("usage: Scenario NODE_URL LOGIN PASSWORD");
            System.exit(2);
        }
        JqmClient client = JqmWsClientFactory.getClient("scenario", properties(args[0], args[1], args[2]), false);
        try
        {
            // enqueue (JobRequest posted as XML, JobInstance read as XML)
            long id = client.newJobRequest("Echo", "javauser").addParameter("color", "blue").setKeyword1("kw1").enqueue();
            check(id > 0, "enqueue returns an ID");

            // getJob
            JobInstance job = waitFor(client, id, State.ENDED, State.CRASHED);
            check(job.getState() == State.ENDED, "job ended: " + job.getState());
            check("Echo".equals(job.getApplicationName()), "applicationName");
            check("javauser".equals(job.getUser()), "user");
            check("kw1".equals(job.getKeyword1()), "keyword1");
            check("blue".equals(job.getParameters().get("color")), "parameters map: " + job.getParameters());
            check(job.getEnqueueDate() != null && job.getEndDate() != null, "dates");
            check(job.getQueue() != null && job.getQueue().getName() != null, "queue");

            // getJobs
            check(client.getJobs().stream().anyMatch(j -> j.getId() == id), "getJobs lists the job");

            // query
            List<JobInstance> found = client.newQuery().setApplicationName("Echo").setUser("javauser").invoke();
            check(found.stream().anyMatch(j -> j.getId() == id), "query finds the job");

            // messages
            check(client.getJobMessages(id) != null, "messages");

            // deliverables
            List<Deliverable> files = client.getJobDeliverables(id);
            check(files.size() == 1, "one deliverable: " + files.size());
            try (InputStream content = client.getDeliverableContent(files.get(0).getId()))
            {
                check(new String(content.readAllBytes(), StandardCharsets.UTF_8).startsWith("data"), "deliverable content");
            }

            // stdout
            try (InputStream out = client.getJobLogStdOut(id))
            {
                check(new String(out.readAllBytes(), StandardCharsets.UTF_8).contains("out " + id), "stdout");
            }

            // kill
            long sleeper = client.enqueue("Sleep", "javauser");
            waitFor(client, sleeper, State.RUNNING);
            client.killJob(sleeper);
            JobInstance killed = waitFor(client, sleeper, State.KILLED, State.CRASHED);
            check(killed.getState() == State.CRASHED, "a killed job ends CRASHED, as upstream: " + killed.getState());
            check(killed.getMessages().stream().anyMatch(m -> m.contains("Kill")), "kill message: " + killed.getMessages());

            // queues
            List<Queue> queues = client.getQueues();
            check(!queues.isEmpty() && queues.stream().anyMatch(q -> "DEFAULT".equals(q.getName())), "queues");
            Queue defaultQueue = queues.stream().filter(q -> "DEFAULT".equals(q.getName())).findFirst().orElseThrow();

            // getJobs lists every job, not a first page of 50 (upstream's getJobs() turns paging off)
            List<Long> parked = new ArrayList<>();
            for (int i = 0; i < 55; i++)
            {
                parked.add(client.enqueue("Parked", "javauser")); // a disabled queue: they wait
            }
            Set<Long> listed = client.getJobs().stream().map(JobInstance::getId).collect(Collectors.toSet());
            check(listed.size() > 55 && listed.containsAll(parked), "getJobs lists all " + listed.size() + " jobs");

            // bulk calls: lists of IDs posted as JSON
            List<Long> three = parked.subList(0, 3);
            check(client.pauseQueuedJobs(three) == 3, "pauseQueuedJobs");
            check(client.getJob(three.get(0)).getState() == State.HOLDED, "paused jobs are HOLDED");
            check(client.resumeQueuedJobs(three) == 3, "resumeQueuedJobs");
            check(client.getJob(three.get(0)).getState() == State.SUBMITTED, "resumed jobs wait again");
            check(client.setJobQueues(List.of(parked.get(3)), defaultQueue.getId()) == 1, "setJobQueues");
            waitFor(client, parked.get(3), State.ENDED);
            check(client.killJobs(parked.subList(4, parked.size())) == parked.size() - 4, "killJobs");
            check(client.getJob(parked.get(4)).getState() == State.CANCELLED, "a killed waiting job is CANCELLED");
            List<Long> again = client.bulkEnqueueFromHistory(List.of(id));
            check(again.size() == 1 && again.get(0) > id, "bulkEnqueueFromHistory: " + again);
            waitFor(client, again.get(0), State.ENDED);

            // an unknown ID: the node answers 404 (upstream's documented code), the client a JqmClientException
            try
            {
                client.getJob(id + 999_000);
                check(false, "an unknown ID is refused");
            }
            catch (JqmClientException e)
            {
                check(causes(e).contains("404"), "the refusal says 404: " + causes(e));
            }

            // a wrong password: a clean client exception carrying the 401
            JqmClient intruder = JqmWsClientFactory.getClient("intruder", properties(args[0], args[1], args[2] + "-wrong"),
                    false);
            try
            {
                intruder.getJob(id);
                check(false, "a wrong password is refused");
            }
            catch (JqmException e)
            {
                check(causes(e).contains("401"), "the refusal says 401: " + causes(e));
            }
            finally
            {
                intruder.dispose();
            }

            System.out.println("java client scenario: OK");
        }
        catch (Exception e)
        {
            System.err.println("java client scenario FAILED: " + e);
            e.printStackTrace();
            System.exit(1);
        }
        finally
        {
            client.dispose();
        }
        System.exit(0);
    }
}
